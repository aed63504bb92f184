"""`konsulta run`: the bot process, by long polling or by webhook.

Builds the aiogram `Bot` (pointed at the configured Bot API server: Telegram, a local
telegram-bot-api, or the project's emulator) and `Dispatcher` with the services as
keyword data, then runs three things side by side: updates in (polling or webhook),
the inbox worker, and the one sender. Stops cleanly on SIGINT/SIGTERM; a kill -9 loses
nothing because everything that matters is already in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods.base import Response
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, Update
from aiohttp import web

from bot.runtime import poll_updates, run_until_stopped
from bot.telegram.health import Health
from bot.telegram.inbox import InboxWorker, store_updates
from bot.telegram.keyboards import track_keyboards
from bot.telegram.routers import include_konsulta
from bot.telegram.sender import Sender
from konsulta.bootstrap import App
from konsulta.menu import COMMANDS
from konsulta.settings import Settings
from storage.sqlite_driver import run_inline

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


#: The Bot API methods the bot calls.
USED_METHODS: list[type[methods.TelegramMethod[Any]]] = [
    *(methods.GetMe, methods.GetUpdates, methods.SetWebhook, methods.DeleteWebhook),
    *(methods.SendMessage, methods.EditMessageText, methods.EditMessageReplyMarkup),
    *(methods.DeleteMessage, methods.AnswerCallbackQuery, methods.SendPhoto),
    *(methods.SendDocument, methods.SendVoice, methods.SendLocation, methods.SendChatAction),
    *(methods.SetMyCommands, methods.DeleteMyCommands, methods.GetFile),
]
#: aiogram reads every answer as `Response[<the method's result type>]`. pydantic holds
#: such parametrised classes only weakly, so under load the garbage collector takes
#: them and each is built again, a few milliseconds a time, hundreds of times a
#: minute. Holding them here keeps them built.
RESPONSE_TYPES = [Response.__class_getitem__(method.__returning__) for method in USED_METHODS]


def make_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_base_url))
    return Bot(settings.bot_token.get_secret_value(), session=session)


def make_sender(app: App, bot: Bot) -> Sender:
    """The one sender on `bot`, as every runtime has it. What it sends is watched for
    questions asked again (their earlier copies lose their buttons; see
    bot/telegram/keyboards.py), and what a unit of work queues reaches it on commit:
    replies from memory (no claiming round), anything else as a wake-up to claim it."""
    sender = Sender(app, bot, keyboards=track_keyboards(app, bot))
    app.handoff = sender
    return sender


def make_dispatcher(app: App) -> Dispatcher:
    return include_konsulta(Dispatcher(), app)


def worker_name(settings: Settings, *, webhook: bool) -> str:
    """This process among the workers on one database: `KONSULTA_WORKER_NAME`, else the
    host name with the webhook port (two live workers cannot share both), or with
    "polling". A restart under the same name takes its own unhandled updates back at
    once; any other worker waits for their lease to run out."""
    if settings.worker_name:
        return settings.worker_name
    suffix = str(settings.webhook_port) if webhook else "polling"
    return f"{socket.gethostname()[: 63 - len(suffix)]}:{suffix}"


async def register_commands(app: App, bot: Bot) -> None:
    """The command menu in every language we speak, for private chats."""
    scope = BotCommandScopeAllPrivateChats()
    for language in [None, *sorted(app.i18n.available_locales)]:
        texts = app.texts(language or app.settings.default_language)
        commands = [BotCommand(command=c, description=texts.gettext(d)) for c, d in COMMANDS]
        await bot.set_my_commands(commands, scope=scope, language_code=language)


T = TypeVar("T")


async def patiently(what: str, call: Callable[[], Awaitable[T]], stop: asyncio.Event) -> T | None:
    """A start-up call to the Bot API, tried again while the API cannot be reached: a
    bot started during a network outage waits for it instead of exiting. None if the
    bot is told to stop meanwhile."""
    delay = 1.0
    while not stop.is_set():
        try:
            return await call()
        except TelegramRetryAfter as error:
            wait = float(error.retry_after)
        except (TelegramNetworkError, TelegramServerError) as error:
            wait, delay = delay, min(delay * 2, 30.0)
            log.warning("%s: no answer from the Bot API (%s); again in %.0f s", what, error, wait)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)
    return None


@dataclass
class Runtime:
    app: App
    bot: Bot
    dispatcher: Dispatcher
    sender: Sender
    worker: InboxWorker
    health: Health

    @classmethod
    def build(
        cls, app: App, bot: Bot | None = None, dispatcher: Dispatcher | None = None
    ) -> Runtime:
        """`dispatcher`: an embedding bot's own, with `include_konsulta` applied."""
        bot = bot or make_bot(app.settings)
        dispatcher = make_dispatcher(app) if dispatcher is None else dispatcher
        sender = make_sender(app, bot)
        health = Health(app, bot)
        health.watch_sender(sender)
        name = worker_name(app.settings, webhook=False)
        worker = InboxWorker(app, dispatcher, bot, name=name, metrics=health)
        return cls(app, bot, dispatcher, sender, worker, health)

    #: Webhook updates waiting for the next inbox commit (group commit, see `receive`).
    _arrivals: list[tuple[Update, asyncio.Future[None]]] = field(
        default_factory=list, init=False, repr=False
    )
    _committing: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def accept(self, updates: Sequence[Update]) -> None:
        """Commit, then hand to the worker (replays are dropped here)."""
        fresh = await store_updates(self.app, updates, worker=self.worker.name)
        self.health.received.inc(len(fresh))
        self.worker.submit(fresh)

    async def receive(self, update: Update) -> None:
        """Accept one webhook update; returns once it is committed.

        Telegram keeps up to 40 webhook requests open at once. Rather than one inbox
        transaction each (which on SQLite queue up for the single write lock), the
        updates that arrive while a commit is under way are committed together in the
        next one: a group commit with no timer, so a lone update waits for nothing.
        """
        arrived = asyncio.get_running_loop().create_future()
        self._arrivals.append((update, arrived))
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_arrivals())
        await arrived

    async def _commit_arrivals(self) -> None:
        run_inline()  # one short INSERT (storage/sqlite_driver.py)
        while self._arrivals:
            batch, self._arrivals = self._arrivals, []
            try:
                await self.accept([update for update, _ in batch])
            except Exception as error:
                for _, arrived in batch:
                    if not arrived.done():
                        arrived.set_exception(error)
            else:
                for _, arrived in batch:
                    if not arrived.done():
                        arrived.set_result(None)

    async def poll(self, stop: asyncio.Event, timeout: int = 25) -> None:
        """Long polling; the offset moves on only after the batch is committed."""
        await patiently("deleteWebhook", self.bot.delete_webhook, stop)
        await poll_updates(
            stop,
            lambda offset: self.bot.get_updates(
                offset=offset,
                timeout=timeout,
                allowed_updates=ALLOWED_UPDATES,
                request_timeout=timeout + 10,
            ),
            self.accept,
            transient=(TelegramRetryAfter, TelegramNetworkError, TelegramServerError),
            retry_after=lambda e: e.retry_after if isinstance(e, TelegramRetryAfter) else None,
        )

    def webhook_app(self) -> web.Application:
        secret = self.app.settings.webhook_secret.get_secret_value()

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(errors="replace"), secret.encode()):
                return web.Response(status=401, text="wrong secret token")
            try:
                update = Update.model_validate(await request.json(), context={"bot": self.bot})
            except (ValueError, json.JSONDecodeError):
                return web.Response(status=400, text="not an update")
            await self.receive(update)  # 200 only after the update is committed
            return web.Response(text="ok")

        application = web.Application()
        application.router.add_post(self.app.settings.webhook_path, receive)
        self.health.add_probes(application)
        return application

    async def serve_webhook(self, stop: asyncio.Event) -> None:
        settings = self.app.settings
        runner = web.AppRunner(self.webhook_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(
            runner,
            settings.webhook_host,
            settings.webhook_port,
            reuse_port=settings.webhook_reuse_port or None,
        )
        await site.start()
        if url := settings.webhook_url:
            await patiently(
                "setWebhook",
                lambda: self.bot.set_webhook(
                    url,
                    secret_token=settings.webhook_secret.get_secret_value(),
                    allowed_updates=ALLOWED_UPDATES,
                ),
                stop,
            )
        log.info(
            "webhook listening on %s:%s%s",
            settings.webhook_host,
            settings.webhook_port,
            settings.webhook_path,
        )
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    async def download(self, file_id: str) -> bytes:
        """A file a citizen sent (a voice note), through the Bot API's getFile."""
        file = await self.bot.get_file(file_id)
        data = await self.bot.download_file(file.file_path or "")
        return data.read() if data is not None else b""

    async def serve_health(self, stop: asyncio.Event) -> None:
        """/healthz, /readyz and /metrics on their own port (`KONSULTA_HEALTH_PORT`)."""
        settings = self.app.settings
        assert settings.health_port is not None
        runner = web.AppRunner(self.health.server(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.health_host, settings.health_port)
        await site.start()
        log.info("health and metrics on %s:%s", settings.health_host, settings.health_port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    async def run(self, stop: asyncio.Event, *, webhook: bool) -> None:
        self.worker.name = worker_name(self.app.settings, webhook=webhook)
        await patiently("setMyCommands", lambda: register_commands(self.app, self.bot), stop)
        me = await patiently("getMe", self.bot.get_me, stop)
        if me is None:  # stopped before the Bot API ever answered
            await self.bot.session.close()
            return
        await self.worker.recover()
        log.info("bot @%s is running (%s)", me.username, "webhook" if webhook else "polling")
        receive: Callable[[asyncio.Event], Coroutine[None, None, None]] = (
            self.serve_webhook if webhook else self.poll
        )
        loops = {
            "receive": receive(stop),
            "sender": self.sender.run(stop),
            "claims": self.worker.keep_claims(stop),
        }
        if self.app.settings.health_port is not None:
            loops["health"] = self.serve_health(stop)
        try:
            await run_until_stopped(
                self.app,
                stop,
                loops,
                wake=self.sender.wake,
                idle=self.worker.idle,
                fetch_file=self.download,  # machine transcripts of voice answers
            )
        finally:
            await self.bot.session.close()


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
