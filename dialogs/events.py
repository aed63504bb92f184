"""What goes into and comes out of the dialog engine.

These are the engine's whole vocabulary with the outside world. Adapters (terminal
simulator, Telegram runtime, tests) turn what a citizen did into an `Event` and render
each `Message`; none of them needs to know how a flow is walked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

#: Button keys that are controls rather than options. Option keys cannot start with
#: "~", so a control never collides with an option a staff member wrote.
SKIP = "~skip"
DONE = "~done"
UNDO = "~undo"
#: A statements step's "add my own" button.
PROPOSE = "~propose"
#: Vote button keys on a statements step are these letters followed by the statement id.
VOTE_PREFIXES = {"a": 1, "d": -1, "p": 0}


class Translator(Protocol):
    """gettext-style catalog of the bot's own texts (hints, notices, controls).

    `gettext.NullTranslations` and `babel.support.Translations` both satisfy it.
    """

    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


@dataclass(frozen=True)
class TextInput:
    text: str


@dataclass(frozen=True)
class ButtonPress:
    """A tap on an inline button; `step_id` says which question's keyboard it was on."""

    step_id: str
    key: str


@dataclass(frozen=True)
class LocationInput:
    latitude: float
    longitude: float


MediaKind = Literal[
    "photo", "voice", "audio", "video", "video_note", "document", "sticker", "animation"
]


@dataclass(frozen=True)
class MediaInput:
    kind: MediaKind
    file_id: str
    duration: int | None = None


@dataclass(frozen=True)
class ContactInput:
    phone: str
    #: False when a citizen shares someone else's contact card.
    own: bool = True


CommandName = Literal["back", "skip", "restart", "repeat"]


@dataclass(frozen=True)
class CommandInput:
    """Dialog commands. `repeat` shows the current question again (e.g. after /language)."""

    name: CommandName


Event = TextInput | ButtonPress | LocationInput | MediaInput | ContactInput | CommandInput


@dataclass(frozen=True)
class Button:
    key: str
    label: str
    selected: bool = False


Role = Literal["question", "say", "hint", "notice", "end"]


@dataclass(frozen=True)
class Message:
    """One abstract outbound message, already in the citizen's language.

    `expects` is the step kind being asked (adapters pick a reply keyboard for
    location or contact from it). `edit` asks the adapter to update the question
    message it already showed for `step_id` (multiple-choice toggles) instead of
    sending a new one.
    """

    text: str
    role: Role
    step_id: str | None = None
    buttons: tuple[Button, ...] = ()
    expects: str | None = None
    progress: tuple[int, int] | None = None
    allow_skip: bool = False
    edit: bool = False


@dataclass(frozen=True)
class AnswerRecord:
    """An answer as storage keeps it: typed JSON value plus what the citizen saw."""

    step_id: str
    value: Any
    display: str
    skipped: bool = False


@dataclass(frozen=True)
class ConsentDecision:
    """A citizen's yes or no to a purpose the engine asked about (contact, named);
    the adapter stores it as a consent record with the flow version and the time."""

    purpose: str
    granted: bool
    #: The pseudo question it answers and what the citizen saw ("Yes" / "No").
    step_id: str
    display: str


@dataclass(frozen=True)
class Deck:
    """What the adapter knows of the statements its `statements` and `priorities`
    steps offer; the engine stays pure, so storage's view comes in with the event.

    `order`: step id -> statement ids to offer, best first (for a statements step,
    without those this citizen has voted on; for a priorities step, the candidates).
    `texts`: statement id -> its text in the dialog's language.
    """

    order: dict[str, tuple[str, ...]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VoteRecord:
    """A vote on a statement: 1 agree, -1 disagree, 0 pass."""

    step_id: str
    statement_id: str
    vote: int


@dataclass(frozen=True)
class Proposal:
    """A statement a citizen wrote (or spoke: `voice_file_id`), to be moderated."""

    step_id: str
    text: str
    voice_file_id: str | None = None
    voice_duration: int | None = None


@dataclass(frozen=True)
class Turn:
    """The result of one engine call: new state, messages to show, answers to persist.

    `answered` holds answers given or replaced in this turn; `cleared` the step ids
    whose stored answers no longer stand (the citizen went back, or restarted).
    """

    state: dict[str, Any]
    outputs: tuple[Message, ...]
    answered: tuple[AnswerRecord, ...] = ()
    cleared: tuple[str, ...] = ()
    completed: bool = False
    #: Set when the citizen restarted: adapters start a fresh run.
    restarted: bool = False
    #: Consents decided in this turn (see `ConsentDecision`).
    consents: tuple[ConsentDecision, ...] = ()
    #: Votes cast and statements proposed in this turn (statements steps).
    votes: tuple[VoteRecord, ...] = ()
    proposals: tuple[Proposal, ...] = ()
    notes: tuple[str, ...] = field(default=())
