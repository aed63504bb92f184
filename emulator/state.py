"""Everything the emulated Telegram remembers, in memory: people, chats, messages,
files, the update queue, webhook and command settings.

Both sides change it — the bot through Bot API methods, tests through the citizen
API — and both sides wait on it (long polling, webhook delivery, ``wait_for_messages``,
a future web chat page), so it also owns the one "something changed" signal.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

MessageKind = Literal[
    "text", "photo", "document", "voice", "location", "contact", "sticker", "other"
]
ChatType = Literal["private", "group", "supergroup"]
EventKind = Literal["message", "edited", "deleted", "callback_answered", "update"]


@dataclass
class Citizen:
    """A Telegram user the tests play; ``id`` is also their private chat's id."""

    id: int
    first_name: str
    language_code: str | None = "en"
    last_name: str | None = None
    username: str | None = None
    blocked_bot: bool = False

    def to_json(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                user[key] = value
        return user


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class ChatMessage:
    """One message in a chat, as it looks *now* (after edits and deletion)."""

    message_id: int
    chat_id: int
    sender_id: int
    from_bot: bool
    kind: MessageKind
    date: int
    text: str | None = None
    caption: str | None = None
    #: What the bot sent before ``parse_mode`` was applied (markup included).
    source_text: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    deleted: bool = False
    edit_date: int | None = None
    file_id: str | None = None
    #: Kind-specific Message fields: ``photo``, ``document``, ``location``, ...
    content: dict[str, Any] = field(default_factory=dict)

    def callback_data(self) -> list[str]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]

    def summary(self) -> dict[str, Any]:
        """The test-facing view: flat, with the fields assertions care about."""
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "from_bot": self.from_bot,
            "kind": self.kind,
            "text": self.text,
            "caption": self.caption,
            "source_text": self.source_text,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "reply_markup": self.reply_markup,
            "deleted": self.deleted,
            "edited": self.edit_date is not None,
            "file_id": self.file_id,
            "content": self.content,
        }


@dataclass
class Chat:
    id: int
    type: ChatType
    title: str | None = None
    member_ids: set[int] = field(default_factory=set)
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def bot_messages(self) -> list[ChatMessage]:
        return [m for m in self.messages.values() if m.from_bot]

    def reply_keyboard(self) -> tuple[dict[str, Any] | None, bool]:
        """The custom keyboard under the input field now (``ReplyKeyboardMarkup``, or
        None), and whether a citizen has sent something since it came.

        The last bot message that set (``keyboard``) or removed (``remove_keyboard``)
        one decides, as in Telegram; a one-time keyboard folds away once used but stays
        the chat's keyboard until the bot removes or replaces it.
        """
        current: dict[str, Any] | None = None
        used = False
        for message in self.messages.values():
            if message.deleted:
                continue
            if message.from_bot:
                markup = message.reply_markup or {}
                if "keyboard" in markup:
                    current, used = markup, False
                elif markup.get("remove_keyboard"):
                    current = None
            elif current is not None:
                used = True
        return current, used and current is not None


@dataclass
class Update:
    update_id: int
    kind: str
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"update_id": self.update_id, self.kind: self.payload}


@dataclass
class CallbackQueryRecord:
    """A tap on a button, and what the bot answered (``answerCallbackQuery``)."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    #: When the citizen tapped (monotonic): Telegram takes an answer for about 15 s.
    tapped_at: float = field(default_factory=time.monotonic)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


@dataclass
class WebhookSettings:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(frozen=True)
class ChatEvent:
    """ "Something changed in chat X": enough for a live view to refetch."""

    chat_id: int
    kind: EventKind
    message_id: int | None = None


#: (scope type, chat id for chat scopes, language code or "").
CommandScopeKey = tuple[str, int | None, str]


class EmulatorState:
    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self.users: dict[int, Citizen] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.updates: list[Update] = []
        self._update_ids = itertools.count(1)
        self.allowed_updates: list[str] | None = None
        self.webhook: WebhookSettings | None = None
        self.commands: dict[CommandScopeKey, list[dict[str, Any]]] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        #: Every call the emulator refused, as (method, description), in order: a test
        #: can check that the bot never made one ("message is not modified").
        self.refused: list[tuple[str, str]] = []
        self._changed = asyncio.Event()
        #: Set on shutdown so long polls and waiters return instead of holding it up.
        self.closed = False
        self._subscribers: list[asyncio.Queue[ChatEvent]] = []
        self.listeners: list[Callable[[ChatEvent], None]] = []

    # --- time and change signal ----------------------------------------------------

    def unix_now(self) -> int:
        return int(self._now())

    def notify(self, event: ChatEvent) -> None:
        """Wake every waiter and tell subscribers which chat changed."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for queue in self._subscribers:
            queue.put_nowait(event)
        for listener in list(self.listeners):
            listener(event)

    async def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Wait (without polling) until ``ready()`` holds; ``False`` on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready():
            if self.closed:
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return ready()
        return True

    def close(self) -> None:
        self.closed = True
        self.notify(ChatEvent(0, "update"))

    def subscribe(self) -> asyncio.Queue[ChatEvent]:
        queue: asyncio.Queue[ChatEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[ChatEvent]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    # --- people and chats ---------------------------------------------------------

    def private_chat(self, user: Citizen) -> Chat:
        chat = self.chats.get(user.id)
        if chat is None:
            chat = Chat(id=user.id, type="private", member_ids={user.id})
            self.chats[user.id] = chat
        return chat

    def chat_json(self, chat: Chat) -> dict[str, Any]:
        if chat.type == "private":
            user = self.users[chat.id]
            data: dict[str, Any] = {"id": chat.id, "type": "private", "first_name": user.first_name}
            if user.username:
                data["username"] = user.username
            return data
        return {"id": chat.id, "type": chat.type, "title": chat.title or f"Group {chat.id}"}

    # --- messages -----------------------------------------------------------------

    def add_message(
        self,
        chat: Chat,
        *,
        sender_id: int,
        from_bot: bool,
        kind: MessageKind,
        **fields: Any,
    ) -> ChatMessage:
        message = ChatMessage(
            message_id=chat.next_message_id(),
            chat_id=chat.id,
            sender_id=sender_id,
            from_bot=from_bot,
            kind=kind,
            date=self.unix_now(),
            **fields,
        )
        chat.messages[message.message_id] = message
        self.notify(ChatEvent(chat.id, "message", message.message_id))
        return message

    def message_json(self, message: ChatMessage, sender: dict[str, Any]) -> dict[str, Any]:
        """The Bot API ``Message`` object for a stored message."""
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": self.chat_json(self.chats[message.chat_id]),
            "from": sender,
            **message.content,
        }
        if message.text is not None:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.caption is not None:
            data["caption"] = message.caption
            if message.entities:
                data["caption_entities"] = message.entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        return data

    # --- files --------------------------------------------------------------------

    def store_file(
        self, data: bytes, folder: str, *, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        file_id = f"{folder[:3].upper()}{secrets.token_urlsafe(24)}"
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=secrets.token_hex(8),
            file_path=f"{folder}/file_{len(self.files)}{suffix}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    # --- updates ------------------------------------------------------------------

    def enqueue_update(self, kind: str, payload: dict[str, Any]) -> Update:
        """Queue an update for getUpdates or the webhook, whichever the bot uses."""
        update = Update(next(self._update_ids), kind, payload)
        self.updates.append(update)
        chat = payload.get("chat") or payload.get("message", {}).get("chat") or {}
        self.notify(ChatEvent(int(chat.get("id", 0)), "update"))
        return update

    def confirm_updates_before(self, update_id: int) -> None:
        self.updates = [u for u in self.updates if u.update_id >= update_id]

    def drop_pending_updates(self) -> None:
        self.updates.clear()

    # --- commands -----------------------------------------------------------------

    def commands_for_chat(self, chat_id: int, language_code: str | None) -> list[dict[str, Any]]:
        """The menu a chat sees: the most specific scope and language that has commands."""
        chat = self.chats.get(chat_id)
        is_private = chat is None or chat.type == "private"
        broad = "all_private_chats" if is_private else "all_group_chats"
        scopes: list[tuple[str, int | None]] = [("chat", chat_id), (broad, None), ("default", None)]
        for scope, scope_chat in scopes:
            for language in (language_code or "", ""):
                commands = self.commands.get((scope, scope_chat, language))
                if commands:
                    return commands
        return []
