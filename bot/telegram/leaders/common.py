"""What every leaders' handler shares: who the leader is, how a reply is queued, the
one shape of a handler that answers in a transaction (`replies`), and the two
questions most of their commands start with (which community, which consultation).

`LeaderContext` finds the active leader behind an update (a citizen's update mostly
without a read: see its docstring); the routers' filter `is_leader` only looks at
what it found. The one write it may do (the leader's
command menu set again in the language they now use, after /language) is the
`keep_menu` service's, in its own transaction, because it must happen whichever router
then takes the update: a leader is also an ordinary citizen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.telegram.callbacks import LeaderAct
from dialogs.events import Translator
from konsulta.bootstrap import App
from konsulta.conversations import Delivery, Who
from konsulta.leaders.actions import LeaderAction as Act
from konsulta.leaders.service import (
    LeaderError,
    consultation_choices,
    keep_menu,
    own_community,
)
from konsulta.outbound import mark_update
from storage.models import Community, Leader
from storage.repositories import leaders as leaders_repository
from storage.repositories.citizens import TELEGRAM
from storage.uow import UnitOfWork

__all__ = [
    "LeaderContext",
    "LeaderUpdate",
    "Payload",
    "bot_username",
    "button",
    "gone",
    "is_leader",
    "not_a_command",
    "pick_community",
    "pick_consultation",
    "pick_consultation_of",
    "pick_target",
    "queue",
    "replies",
    "reply",
    "say",
    "send",
]

Payload = dict[str, Any]
_LEADER_ACT = f"{LeaderAct.__prefix__}{LeaderAct.__separator__}"
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class LeaderContext(BaseMiddleware):
    """Hands the active `leader` row (or None) to the leaders' filters and handlers.

    Every update passes here and almost nobody is a leader. Whatever someone types (a
    leader's text may be the broadcast they are composing) and a leader's own buttons
    are looked up (a read, no write turn, unless the leader's menu is in another
    language than the one they use now), but for /start: no leaders' handler takes
    it (a leader link is claimed by its payload), so the first contact of the many
    people a broadcast brings costs no leader read. A tap on an answer button, most of a
    dialog's updates, is looked up only for someone in the set of active leaders'
    users, read at most every `REFRESH` seconds (a leader helping someone answer taps
    those buttons for them), and for `REFRESH` seconds after this process made
    someone a leader. With several workers, a leader made by another worker less than
    `REFRESH` seconds ago whose next update is a tap on an answer button while helping
    someone is taken as tapping for themselves once. Group messages are not looked at
    (leaders act in their private chat)."""

    REFRESH = 5.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.known: set[tuple[str, int]] = set()
        self.known_at = float("-inf")
        self._refreshing = asyncio.Lock()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or (isinstance(event, Message) and event.chat.type != "private"):
            data["leader"] = None
            return await handler(event, data)
        app: App = data["app"]
        language: str = data["language"]
        delivery: Delivery | None = data.get("delivery")
        who: Who | None = data.get("who")
        channel = who.channel if who is not None else TELEGRAM
        leader = None
        if await self._may_be_leader(app, channel, user.id, event):
            async with app.uow(read_only=True) as uow:
                leader = await uow.leaders.find_active(user.id, channel=channel)
            if leader is not None:
                self.known.add((channel, user.id))
        if leader is not None and leader.menu_language != language and delivery is not None:
            async with app.uow() as uow:
                leader = await keep_menu(app, uow, user.id, delivery.chat_id, language, channel)
                await uow.commit()
        data["leader"] = leader
        return await handler(event, data)

    async def _may_be_leader(
        self, app: App, channel: str, user_id: int, event: TelegramObject
    ) -> bool:
        now = self.clock()
        if isinstance(event, CallbackQuery) and (event.data or "").startswith(_LEADER_ACT):
            return True
        if isinstance(event, Message):  # typed: a leader's text may be a broadcast's
            return not _is_start(event)
        if now - leaders_repository.last_made < self.REFRESH:
            return True
        if now - self.known_at >= self.REFRESH:
            # Under load many taps find the set stale at once: one of them reads it,
            # the others wait for that read rather than each making their own.
            async with self._refreshing:
                if now - self.known_at >= self.REFRESH:
                    async with app.uow(read_only=True) as uow:
                        self.known = await uow.leaders.active_users()
                    self.known_at = now
        return (channel, user_id) in self.known


def _is_start(message: Message) -> bool:
    """/start, with or without a payload or the bot's name (as `CommandStart` reads it)."""
    words = (message.text or "").split(maxsplit=1)
    return bool(words) and words[0].split("@", 1)[0] == "/start"


def is_leader(event: TelegramObject, leader: Leader | None = None) -> bool:
    return leader is not None


def not_a_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


def button(label: str, act: Act, item: int = 0, arg: str = "") -> Payload:
    return {"key": act, "label": label, "callback": LeaderAct(act=act, id=item, arg=arg).pack()}


def say(text: str, language: str, *buttons: Payload, edit: bool = False) -> Payload:
    role = "question" if buttons else "notice"
    return {"language": language, "text": text, "role": role, "buttons": list(buttons)} | (
        {"edit": True} if edit else {}
    )


def gone(texts: Translator, language: str) -> Payload:
    """The answer to a button whose community, consultation or message is not (or no
    longer) the leader's to act on."""
    return say(texts.gettext("This button no longer works."), language)


async def queue(uow: UnitOfWork, delivery: Delivery, *payloads: Payload) -> None:
    """Queue the leader's messages, in the caller's transaction, without marking the
    update: for a handler whose update the conversation service marks."""
    for payload in payloads:
        if payload.get("edit"):
            if delivery.source_message_id is None:
                payload = {k: v for k, v in payload.items() if k != "edit"}
            else:
                payload = {**payload, "edit_message_id": delivery.source_message_id}
        await uow.outbox.enqueue(delivery.chat_id, "dialog", payload, bot=delivery.bot)


async def send(uow: UnitOfWork, delivery: Delivery, *payloads: Payload) -> None:
    """Queue the leader's messages and mark the update handled, in the caller's
    transaction. Every leaders' handler ends here (with nothing to say if need be) or
    in the conversation service, which marks it too, so no update stays pending."""
    await queue(uow, delivery, *payloads)
    if delivery.update_id is not None:
        await mark_update(uow, delivery.update_id, bot=delivery.bot)


async def reply(app: App, delivery: Delivery, *payloads: Payload) -> None:
    """`send` in a transaction of its own."""
    async with app.uow() as uow:
        await send(uow, delivery, *payloads)
        await uow.commit()


@dataclass(frozen=True)
class LeaderUpdate:
    """A leader's command, text or button tap, with what answering it needs."""

    app: App
    bot: Bot
    leader: Leader
    language: str
    texts: Translator
    #: What the leader typed ("" for a button).
    text: str = ""
    #: The tapped button's `LeaderAct` id and arg (0 and "" for a message).
    item: int = 0
    arg: str = ""


Answer = Callable[[LeaderUpdate, UnitOfWork], Awaitable[Payload | list[Payload]]]


def replies(answer: Answer) -> Callable[..., Awaitable[None]]:
    """The aiogram handler of a leader's update whose answer `answer` works out.

    Such handlers all have one shape, written here once: a tapped button's spinner
    stops, `answer` reads and writes in one unit of work, what it returns is queued
    and the update marked (`send`: no handler can forget it), then all is committed.
    """

    async def handler(
        event: Message | CallbackQuery,
        app: App,
        leader: Leader,
        delivery: Delivery,
        language: str,
        bot: Bot,
        callback_data: LeaderAct | None = None,
    ) -> None:
        if isinstance(event, CallbackQuery):
            await event.answer()
        update = LeaderUpdate(
            app,
            bot,
            leader,
            language,
            app.texts(language),
            text=(event.text or "") if isinstance(event, Message) else "",
            item=callback_data.id if callback_data else 0,
            arg=callback_data.arg if callback_data else "",
        )
        async with app.uow() as uow:
            found = await answer(update, uow)
            await send(uow, delivery, *([found] if isinstance(found, dict) else found))
            await uow.commit()

    # Named as the answer for logs and tests; not `functools.wraps`, since aiogram
    # would then read `answer`'s parameters (`inspect.unwrap`) instead of these.
    handler.__name__ = handler.__qualname__ = answer.__name__
    handler.__doc__ = answer.__doc__
    return handler


async def pick_community(
    uow: UnitOfWork, leader: Leader, act: Act, texts: Translator, language: str
) -> Payload | Community:
    """The leader's only community, or a question to pick one (buttons `act`)."""
    communities = await uow.leaders.communities(leader)
    if len(communities) == 1:
        return communities[0]
    if not communities:
        return say(texts.gettext("You do not lead any community at the moment."), language)
    return say(
        texts.gettext("Which community?"),
        language,
        *(button(c.name, act, c.id) for c in communities),
    )


async def pick_consultation(
    app: App,
    uow: UnitOfWork,
    act: Act,
    item: int,
    organisation_id: int,
    texts: Translator,
    language: str,
    *,
    open_only: bool = True,
) -> Payload:
    """A question to pick one of the organisation's consultations (buttons `act`,
    `item`, the consultation)."""
    choices = await consultation_choices(app, uow, language, organisation_id, open_only=open_only)
    if not choices:
        return say(texts.gettext("There is no open consultation at the moment."), language)
    buttons = [button(title[:60], act, item, str(key)) for key, title in choices]
    return say(texts.gettext("Which consultation?"), language, *buttons)


async def pick_target(
    update: LeaderUpdate, uow: UnitOfWork, community_act: Act, consultation_act: Act
) -> Payload:
    """A command's first question: which community (buttons `community_act`), or for
    a leader of one, straight away which consultation (buttons `consultation_act`)."""
    texts, language = update.texts, update.language
    found = await pick_community(uow, update.leader, community_act, texts, language)
    if isinstance(found, Community):
        return await pick_consultation(
            update.app, uow, consultation_act, found.id, found.organisation_id, texts, language
        )
    return found


async def pick_consultation_of(update: LeaderUpdate, uow: UnitOfWork, act: Act) -> Payload:
    """Which consultation (buttons `act`), for the community the tapped button names."""
    community = await own_community(uow, update.leader, update.item)
    if community is None:
        return gone(update.texts, update.language)
    return await pick_consultation(
        update.app,
        uow,
        act,
        community.id,
        community.organisation_id,
        update.texts,
        update.language,
    )


async def bot_username(bot: Bot) -> str:
    """The bot's @name, which its invite links need."""
    me = await bot.me()
    if not me.username:
        raise LeaderError("the bot has no username, so it cannot make links")
    return me.username
