"""What a service wants shown in a chat: one typed message, whatever produced it.

The conversation service, the leaders' services, the dashboard's replies and the
broadcasts all used to build free `dict`s for the outbox, each with its own shape.
They now build an `OutboundMessage`; the outbox stores `to_payload()` (plain JSON with
the keys rows had before, defaults left out; `from_payload` also reads rows queued by
an older version, nulls and all, so they still render) and the
adapter turns `from_payload(row.payload)` into Bot API calls in one place
(`bot/telegram/render.py`). Nothing here knows Telegram: how buttons are laid out and
which reply keyboard a message wants are decided here, so every adapter shows a
message the same way.

`deliver` is the one way a service's answer to an update reaches the outbox: it
queues the messages and marks the update handled in the caller's transaction, so a
crash keeps both or neither. The inbox worker marks whatever update a handler left
unmarked (see bot/telegram/inbox.py), so no update stays pending.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, cast, get_args

from dialogs import engine
from dialogs.events import Message
from storage.models import OutboxKind
from storage.uow import UnitOfWork

__all__ = [
    "CONTROL_PREFIX",
    "ROW_KINDS",
    "ROW_WIDTH",
    "Delivery",
    "Document",
    "MenuCommand",
    "Op",
    "OutboundButton",
    "OutboundMessage",
    "OutboundRole",
    "ReplyKeyboard",
    "deliver",
    "mark_update",
    "noting_marks",
    "read_aloud",
]

#: What the message is, as far as its look goes: the engine's roles, a staff reply,
#: a broadcast. Only "hint" and "notice" get a mark in front of the text.
OutboundRole = Literal["question", "say", "hint", "notice", "end", "reply", "broadcast"]
_ROLES: frozenset[str] = frozenset(get_args(OutboundRole))

#: Question kinds whose options fit side by side on a phone screen.
ROW_KINDS = frozenset({"scale", "yes_no", "consent", "statements", "priorities"})
ROW_WIDTH = 5
#: Buttons whose key starts with this are controls (back, skip, change language):
#: they go on a row of their own under the options.
CONTROL_PREFIX = "~"
#: The engine's skip button (dialogs.events.SKIP).
SKIP_KEY = "~skip"
#: Question kinds answered through Telegram's request buttons under the input field.
REQUEST_KINDS = frozenset(kind.value for kind in engine.REQUEST_KINDS)


class Op(StrEnum):
    """Messages that are not a new text in the chat."""

    #: Replace the chat's command menu (a local leader's); no commands removes it.
    SET_COMMANDS = "set_commands"
    #: Edit the tapped question: keep its text, drop its buttons, show the answer.
    CLOSE_QUESTION = "close_question"
    #: Take the buttons off an earlier copy of a question that was asked again (see
    #: bot/telegram/keyboards.py): only one copy of a question can be answered.
    CLOSE_KEYBOARD = "close_keyboard"


_OPS: frozenset[str] = frozenset(op.value for op in Op)


class ReplyKeyboard(StrEnum):
    """The keyboard under the input field that goes with a message."""

    LOCATION = "location"  # one button that shares the location
    CONTACT = "contact"  # one button that shares the phone number
    REMOVE = "remove"  # take away whatever keyboard an earlier question left


@dataclass(frozen=True)
class OutboundButton:
    """An inline button: an answer option (`key`), a link (`url`), or a button that
    carries its own packed callback data (`callback`, the leaders' dialogs)."""

    key: str
    label: str
    selected: bool = False
    url: str | None = None
    callback: str | None = None

    @property
    def is_control(self) -> bool:
        return self.key.startswith(CONTROL_PREFIX)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, "selected": self.selected}
        if self.url is not None:
            data["url"] = self.url
        if self.callback is not None:
            data["callback"] = self.callback
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OutboundButton:
        return cls(
            key=str(data["key"]),
            label=str(data["label"]),
            selected=bool(data.get("selected")),
            url=data.get("url") or None,
            callback=data.get("callback") or None,
        )


@dataclass(frozen=True)
class MenuCommand:
    command: str
    description: str


@dataclass(frozen=True)
class Document:
    """A file sent with the message's text as its caption."""

    filename: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one chat (the chat and the outbox kind travel with the row).

    Rendering reads only these fields. `forget` asks the sender to delete the row once
    sent (it holds personal data or a large file); `delivery_id`, `broadcast_id` and
    `paid` tie a broadcast's message to its delivery row.
    """

    text: str = ""
    language: str | None = None
    role: OutboundRole | None = None
    buttons: tuple[OutboundButton, ...] = ()
    #: The question this message asks, and the run it belongs to (they go into the
    #: buttons' callback data).
    step_id: str | None = None
    run_id: int | None = None
    #: The step kind being asked (picks the button layout and the reply keyboard).
    expects: str | None = None
    progress: tuple[int, int] | None = None
    allow_skip: bool = False
    #: Update the message `edit_message_id` instead of sending a new one (when both
    #: are set; without an id to edit, a new message is sent).
    edit: bool = False
    edit_message_id: int | None = None
    op: Op | None = None
    #: For `Op.SET_COMMANDS`: the menu; empty removes it.
    commands: tuple[MenuCommand, ...] = ()
    #: For `Op.CLOSE_QUESTION`: the answer shown under the closed question.
    answer: str | None = None
    document: Document | None = None
    #: A voice message that reads `text` aloud in `language` (see konsulta/speech.py);
    #: the audio is made when it is sent, so the row holds only the text.
    voice: bool = False
    forget: bool = False
    delivery_id: int | None = None
    broadcast_id: int | None = None
    paid: bool = False

    # --- made from what services have ----------------------------------------------

    @classmethod
    def from_engine(
        cls, message: Message, *, run_id: int | None, language: str, edit_message_id: int | None
    ) -> OutboundMessage:
        """The dialog engine's message; an `edit` one edits `edit_message_id` if any."""
        return cls(
            text=message.text,
            language=language,
            role=message.role,
            buttons=tuple(OutboundButton(b.key, b.label, b.selected) for b in message.buttons),
            step_id=message.step_id,
            run_id=run_id,
            expects=message.expects,
            progress=message.progress,
            allow_skip=message.allow_skip,
            edit=message.edit,
            edit_message_id=edit_message_id if message.edit else None,
        )

    @classmethod
    def close_question(
        cls, message_id: int, text: str, answer: str, *, language: str
    ) -> OutboundMessage:
        return cls(
            text=text,
            language=language,
            op=Op.CLOSE_QUESTION,
            edit_message_id=message_id,
            answer=answer,
        )

    @classmethod
    def close_keyboard(cls, message_id: int) -> OutboundMessage:
        """Take the inline buttons off the message `message_id`, keeping its text."""
        return cls(op=Op.CLOSE_KEYBOARD, edit_message_id=message_id)

    @classmethod
    def receipt(cls, answer: str, *, language: str) -> OutboundMessage:
        """What was shared or typed on a location or contact question, echoed: the
        message that takes the request keyboard away when the next one has inline
        buttons (Telegram lets a message carry one keyboard or the other)."""
        return cls(text=f"✓ {answer or '—'}", language=language, role="say")

    @classmethod
    def set_commands(
        cls, commands: Iterable[MenuCommand], *, language: str | None
    ) -> OutboundMessage:
        return cls(language=language, op=Op.SET_COMMANDS, commands=tuple(commands))

    @classmethod
    def file(cls, filename: str, content: bytes, caption: str, *, language: str) -> OutboundMessage:
        """A file, forgotten once sent so the outbox stays small."""
        return cls(
            text=caption, language=language, document=Document(filename, content), forget=True
        )

    @classmethod
    def spoken(cls, text: str, *, language: str | None) -> OutboundMessage:
        """`text` read aloud, as a voice message."""
        return cls(text=text, language=language, voice=True)

    @property
    def heard_text(self) -> str:
        """What a listener should hear: the text, then each answer option's label (a
        citizen who cannot read the buttons hears what they may tap or type)."""
        labels = [b.label for b in self.options if not b.url and not b.callback]
        return "\n".join([self.text, *labels]) if labels else self.text

    @property
    def readable(self) -> bool:
        """A new text in the chat that a listener should also hear: not an edit (a
        ticked option; but the next statement of a statements step is new words on
        the same message), a menu change, a file or a voice message itself."""
        return bool(
            self.text.strip()
            and not self.voice
            and self.op is None
            and self.document is None
            and (not self.edits or self.expects == "statements")
            and self.role != "broadcast"
        )

    def editing(self, message_id: int | None) -> OutboundMessage:
        """This message as an edit of `message_id` (None: sent as a new message)."""
        if message_id is None:
            return replace(self, edit=False, edit_message_id=None)
        return replace(self, edit=True, edit_message_id=message_id)

    # --- how it looks, for every adapter -------------------------------------------

    @property
    def options(self) -> tuple[OutboundButton, ...]:
        return tuple(b for b in self.buttons if not b.is_control)

    @property
    def controls(self) -> tuple[OutboundButton, ...]:
        return tuple(b for b in self.buttons if b.is_control)

    @property
    def requests(self) -> bool:
        """A location or contact question: asked with Telegram's request button, and
        its "Skip" on the same keyboard under the input field, not inline."""
        return self.expects in REQUEST_KINDS and self.role == "question" and not self.edits

    @property
    def skip_label(self) -> str | None:
        """The label of the question's skip button, if it may be skipped."""
        return next((b.label for b in self.buttons if b.key == SKIP_KEY), None)

    def button_rows(self) -> list[list[OutboundButton]]:
        """Options side by side for short scales, else one per row; controls last
        (none for a request question: its buttons are under the input field)."""
        if self.requests:
            return []
        options, controls = self.options, self.controls
        if self.expects in ROW_KINDS:
            rows = [list(options[i : i + ROW_WIDTH]) for i in range(0, len(options), ROW_WIDTH)]
        else:
            rows = [[b] for b in options]
        if controls:
            rows.append(list(controls))
        return rows

    @property
    def reply_keyboard(self) -> ReplyKeyboard | None:
        """The keyboard under the input field; None when inline buttons come instead.

        Location and contact are asked with Telegram's own request buttons (and a
        "Skip" button beside them when the question may be skipped); any other new
        message without inline buttons takes away a keyboard an earlier question left.
        """
        if self.requests:
            return ReplyKeyboard.LOCATION if self.expects == "location" else ReplyKeyboard.CONTACT
        if self.buttons:
            return None
        return ReplyKeyboard.REMOVE

    @property
    def edits(self) -> bool:
        return self.edit and self.edit_message_id is not None

    # --- the outbox row's JSON ------------------------------------------------------

    def to_payload(self) -> dict[str, Any]:
        """Plain JSON for the outbox row; fields left at their default are left out."""
        data: dict[str, Any] = {"text": self.text}
        if self.language is not None:
            data["language"] = self.language
        if self.role is not None:
            data["role"] = self.role
        if self.buttons:
            data["buttons"] = [b.to_json() for b in self.buttons]
        for name in ("step_id", "run_id", "expects", "edit_message_id", "answer"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.progress is not None:
            data["progress"] = list(self.progress)
        for name in ("allow_skip", "edit", "voice", "forget", "paid"):
            if getattr(self, name):
                data[name] = True
        if self.op is not None:
            data["op"] = str(self.op)
        if self.op is Op.SET_COMMANDS:
            data["commands"] = [
                {"command": c.command, "description": c.description} for c in self.commands
            ]
        if self.document is not None:
            data["document"] = {
                "filename": self.document.filename,
                "content_base64": base64.b64encode(self.document.content).decode(),
            }
        if self.delivery_id is not None:
            data["delivery_id"] = self.delivery_id
        if self.broadcast_id is not None:
            data["broadcast_id"] = self.broadcast_id
        return data

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> OutboundMessage:
        """A stored row's JSON, including rows written before this type existed (which
        carried every key, many of them null, and roles outside `OutboundRole`)."""
        # Only the keys present are looked at (the sender renders every broadcast
        # message from its JSON, a thousand a second).
        fields: dict[str, Any] = {}
        for key, value in payload.items():
            if value is None or value == "":
                continue
            if key in _TEXTS:
                fields[key] = str(value)
            elif key in _INTS:
                fields[key] = _int(value)
            elif key in _FLAGS:
                fields[key] = bool(value)
            elif key == "role":
                if value in _ROLES:
                    fields["role"] = cast(OutboundRole, value)
            elif key == "buttons":
                fields["buttons"] = tuple(map(OutboundButton.from_json, value))
            elif key == "progress":
                if _pair(value):
                    fields["progress"] = (int(value[0]), int(value[1]))
            elif key == "op":
                if value in _OPS:
                    fields["op"] = Op(value)
            elif key == "commands":
                fields["commands"] = tuple(
                    MenuCommand(str(c["command"]), str(c["description"])) for c in value
                )
            elif key == "document":
                content = base64.b64decode(value["content_base64"])
                fields["document"] = Document(str(value["filename"]), content)
        return cls(**fields)

    @classmethod
    def of(cls, message: OutboundMessage | Mapping[str, Any]) -> OutboundMessage:
        """The typed message, whether given one or a stored row's JSON."""
        return message if isinstance(message, OutboundMessage) else cls.from_payload(message)


#: Keys of the stored JSON read as they are, by type (see `from_payload`).
_TEXTS = frozenset({"text", "language", "step_id", "expects", "answer"})
_INTS = frozenset({"run_id", "edit_message_id", "delivery_id", "broadcast_id"})
_FLAGS = frozenset({"allow_skip", "edit", "voice", "forget", "paid"})


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pair(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2


@dataclass(frozen=True)
class Delivery:
    """Where the answer goes when the event came from a chat (not the terminal).

    The outbox rows and the inbox mark of `update_id` commit in the same transaction
    as the state they belong to, so a crash either keeps all of it or none of it. A
    tapped button's message (`source_message_id`, `source_text`) is closed once
    answered.
    """

    chat_id: int
    update_id: int | None = None
    source_message_id: int | None = None
    source_text: str | None = None
    #: The bot the update came to and the answer goes out by ("" the main bot).
    bot: str = ""


def read_aloud(messages: Iterable[OutboundMessage]) -> list[OutboundMessage]:
    """`messages`, each readable one followed by itself read aloud (for a citizen who
    asked to listen: questions, hints, the consent, the end message)."""
    shown: list[OutboundMessage] = []
    for message in messages:
        shown.append(message)
        if message.readable:
            shown.append(OutboundMessage.spoken(message.heard_text, language=message.language))
    return shown


#: Updates whose mark `deliver` wrote while the inbox worker handles one update (see
#: `noting_marks`); None outside the worker (the terminal, the dashboard, tests).
_MARKED: ContextVar[set[int] | None] = ContextVar("konsulta_marked_updates", default=None)


@contextmanager
def noting_marks() -> Iterator[set[int]]:
    """While handling one update: the ids `deliver` marked handled, so the worker
    knows which it need not mark itself (a write transaction saved per update).

    A mark counts once `deliver` wrote it: a unit of work that then fails raises, and
    the worker marks the update with the error. Leaving a unit of work without commit
    and without an exception (which rolls back silently) is the one way around this.
    """
    marked: set[int] = set()
    token = _MARKED.set(marked)
    try:
        yield marked
    finally:
        _MARKED.reset(token)


async def deliver(
    uow: UnitOfWork,
    delivery: Delivery,
    messages: Iterable[OutboundMessage],
    *,
    kind: OutboxKind = OutboxKind.DIALOG,
    citizen_id: int | None = None,
) -> None:
    """Queue what a service answers to an update, in order, and mark the update
    handled, in the caller's unit of work (which commits both, or neither).

    A question closed with its answer no longer counts as an open keyboard from now
    on (bot/telegram/keyboards.py): a tap on it again is stale, and a close of it
    queued earlier is not sent (its buttons go with this edit)."""
    messages = list(messages)
    payloads = [message.to_payload() for message in messages]
    await uow.outbox.queue(
        delivery.chat_id, kind, payloads, citizen_id=citizen_id, bot=delivery.bot
    )
    for message in messages:
        if message.op is Op.CLOSE_QUESTION and message.edit_message_id is not None:
            await uow.keyboards.closed(delivery.chat_id, message.edit_message_id)
    if delivery.update_id is not None:
        await mark_update(uow, delivery.update_id, bot=delivery.bot)


async def mark_update(uow: UnitOfWork, update_id: int, *, bot: str = "") -> None:
    """Mark the update handled in the caller's transaction: the one way to do so.

    While the inbox worker handles it (`noting_marks`), the first mark demands the
    update still pending (another worker may have handled it: `UpdateAlreadyHandled`
    rolls this transaction back, see storage/repositories/messaging.py) and a second
    mark within the same handling (a handler that answers in two transactions) is
    already done. Outside the worker (the terminal, tests) marking is plain.
    """
    marked = _MARKED.get()
    if marked is None:
        await uow.inbox.mark_handled(update_id, bot=bot)
        return
    if update_id in marked:
        return
    await uow.inbox.mark_handled(update_id, only_pending=True, bot=bot)
    marked.add(update_id)
