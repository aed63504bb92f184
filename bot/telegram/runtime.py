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
from functools import partial
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
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
from konsulta.settings import BotConfig, Settings
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


def make_bot(settings: Settings, config: BotConfig | None = None) -> Bot:
    """The aiogram `Bot` of `config` (the main bot if not given)."""
    config = config or settings.all_bots()[0]
    session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_base_url))
    return Bot(config.token.get_secret_value(), session=session)


class Senders:
    """Every bot's sender in this process, as a unit of work sees them: what it
    commits to the outbox wakes them all (each claims only its own bot's rows)."""

    def __init__(self) -> None:
        self.senders: list[Sender] = []

    def wake(self) -> None:
        for sender in self.senders:
            sender.wake()


def make_sender(app: App, bot: Bot, name: str = "") -> Sender:
    """The sender of `bot` (named `name` among the deployment's bots), as every
    runtime has it. What it sends is watched for questions asked again (their earlier
    copies lose their buttons; see bot/telegram/keyboards.py), and what a unit of work
    queues wakes it on commit to claim it."""
    sender = Sender(app, bot, keyboards=track_keyboards(app, bot, name), name=name)
    if not isinstance(app.handoff, Senders):
        app.handoff = Senders()
    app.handoff.senders.append(sender)
    return sender


def make_dispatcher(app: App, config: BotConfig | None = None) -> Dispatcher:
    return include_konsulta(Dispatcher(), app, config)


def worker_name(settings: Settings, *, webhook: bool) -> str:
    """This process among the workers on one database: `KONSULTA_WORKER_NAME`, else the
    host name with the webhook port (two live workers cannot share both), or with
    "polling". A restart under the same name takes its own unhandled updates back at
    once; any other worker waits for their lease to run out. (Each bot's inbox is its
    own, so the name needs no bot in it.)"""
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
    """One bot of the deployment: its `Bot`, dispatcher, inbox worker and sender.
    `run` runs it alone; `run_bots` runs several in one process (`KONSULTA_BOTS`)."""

    app: App
    bot: Bot
    dispatcher: Dispatcher
    sender: Sender
    worker: InboxWorker
    health: Health
    config: BotConfig

    @classmethod
    def build(
        cls,
        app: App,
        bot: Bot | None = None,
        dispatcher: Dispatcher | None = None,
        config: BotConfig | None = None,
        health: Health | None = None,
    ) -> Runtime:
        """`dispatcher`: an embedding bot's own, with `include_konsulta` applied;
        `config`: which bot (the main one if not given); `health`: another bot's, to
        share (one /metrics for the process)."""
        config = config or app.settings.all_bots()[0]
        bot = bot or make_bot(app.settings, config)
        dispatcher = make_dispatcher(app, config) if dispatcher is None else dispatcher
        sender = make_sender(app, bot, config.name)
        health = health or Health(app, bot)
        health.watch_sender(sender)
        name = worker_name(app.settings, webhook=False)
        worker = InboxWorker(app, dispatcher, bot, name=name, metrics=health, bot_name=config.name)
        return cls(app, bot, dispatcher, sender, worker, health, config)

    @classmethod
    def build_all(cls, app: App) -> list[Runtime]:
        """A runtime for each of the deployment's bots, the main one first."""
        runtimes: list[Runtime] = []
        for config in app.settings.all_bots():
            shared = runtimes[0].health if runtimes else None
            runtimes.append(cls.build(app, config=config, health=shared))
        return runtimes

    #: Webhook updates waiting for the next inbox commit (group commit, see `receive`).
    _arrivals: list[tuple[Update, asyncio.Future[None]]] = field(
        default_factory=list, init=False, repr=False
    )
    _committing: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def accept(self, updates: Sequence[Update]) -> None:
        """Commit, then hand to the worker (replays are dropped here)."""
        fresh = await store_updates(
            self.app, updates, worker=self.worker.name, bot=self.config.name
        )
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
        application = web.Application()
        self.add_webhook_route(application)
        self.health.add_probes(application)
        return application

    def add_webhook_route(self, application: web.Application) -> None:
        """This bot's webhook path, which takes only updates with this bot's secret."""
        secret = self.config.webhook_secret.get_secret_value()

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

        application.router.add_post(self.config.webhook_path, receive)

    async def set_webhook(self, stop: asyncio.Event) -> None:
        """Tell Telegram where this bot's updates go: `KONSULTA_WEBHOOK_URL`, and for
        another bot than the main one that URL followed by `/<name>`."""
        url = self.app.settings.webhook_url
        if not url:
            return
        if self.config.name:
            url = f"{url.rstrip('/')}/{self.config.name}"
        await patiently(
            "setWebhook",
            lambda: self.bot.set_webhook(
                url,
                secret_token=self.config.webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            ),
            stop,
        )

    async def serve_webhook(self, stop: asyncio.Event) -> None:
        await serve_webhooks([self], stop)

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
        await run_bots([self], stop, webhook=webhook)


async def serve_webhooks(runtimes: Sequence[Runtime], stop: asyncio.Event) -> None:
    """One web server for every bot of the process, each on its own path with its own
    secret (aiogram's multi-bot webhook, done with the inbox in front)."""
    settings = runtimes[0].app.settings
    application = web.Application()
    for runtime in runtimes:
        runtime.add_webhook_route(application)
    runtimes[0].health.add_probes(application)
    runner = web.AppRunner(application, access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner,
        settings.webhook_host,
        settings.webhook_port,
        reuse_port=settings.webhook_reuse_port or None,
    )
    await site.start()
    for runtime in runtimes:
        await runtime.set_webhook(stop)
    log.info(
        "webhook listening on %s:%s %s",
        settings.webhook_host,
        settings.webhook_port,
        " ".join(runtime.config.webhook_path for runtime in runtimes),
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def run_bots(runtimes: Sequence[Runtime], stop: asyncio.Event, *, webhook: bool) -> None:
    """Run the deployment's bots in this process until `stop`: each bot's updates in
    (polling, or its webhook path), inbox worker and sender, and one outreach
    scheduler for all of them."""
    main = runtimes[0]
    settings = main.app.settings
    started: list[Runtime] = []
    try:
        for runtime in runtimes:
            runtime.worker.name = worker_name(settings, webhook=webhook)
            await patiently(
                "setMyCommands", partial(register_commands, runtime.app, runtime.bot), stop
            )
            me = await patiently("getMe", runtime.bot.get_me, stop)
            started.append(runtime)
            if me is None:  # stopped before the Bot API ever answered
                return
            await runtime.worker.recover()
            how = "webhook" if webhook else "polling"
            log.info("bot @%s is running (%s)", me.username, how)
        loops: dict[str, Coroutine[None, None, None]] = {}
        if webhook:
            loops["receive"] = serve_webhooks(runtimes, stop)
        for runtime in runtimes:
            suffix = f":{runtime.config.name}" if runtime.config.name else ""
            if not webhook:
                loops[f"receive{suffix}"] = runtime.poll(stop)
            loops[f"sender{suffix}"] = runtime.sender.run(stop)
            loops[f"claims{suffix}"] = runtime.worker.keep_claims(stop)
        if settings.health_port is not None:
            loops["health"] = main.serve_health(stop)

        async def idle() -> None:
            for runtime in runtimes:
                await runtime.worker.idle()

        async def download(file_id: str) -> bytes:
            """A voice note's file: Telegram's file ids are per bot, so the bot that
            received it is the one that can fetch it."""
            for runtime in runtimes[:-1]:
                with contextlib.suppress(TelegramBadRequest):
                    return await runtime.download(file_id)
            return await runtimes[-1].download(file_id)

        await run_until_stopped(
            main.app,
            stop,
            loops,
            wake=main.app.handoff.wake if main.app.handoff else main.sender.wake,
            idle=idle,
            fetch_file=download,  # machine transcripts of voice answers
        )
    finally:
        for runtime in started or runtimes[:1]:
            await runtime.bot.session.close()


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop
