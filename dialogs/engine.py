"""The dialog engine: a pure step function from (flow, state, event) to a `Turn`.

Pure so that one engine serves the terminal simulator, the Telegram runtime and the
tests, and so that the whole of a citizen's progress is the JSON `DialogState` the
adapter stores in SQL in the same transaction as the answers: after a restart, or on
another worker, the dialog continues exactly where it was. No I/O, no clock (the
caller passes `today`), no aiogram, no SQLAlchemy.

The state pins the flow id and version. A citizen half-way through version 1 finishes
version 1 after version 2 is published: the adapter loads the pinned version, and the
engine refuses (kindly, without raising) to continue a state with a different flow.

Every input is either accepted, or answered with a hint and the same question again;
nothing a citizen sends (stickers, old buttons, NaN coordinates, "{0.__class__}")
raises.

Consent per purpose is asked where it is needed, in the dialog's language: being named
(the flow's `name_consent`) before the first question, being contacted (its
`contact_consent`) right before the first question whose answer reaches the citizen (a
phone number, a location marked `contact_data`). The decision lives in the state
(`consents`) and is reported in `Turn.consents` for the adapter to record; a "no" to
contact passes over every such question, so nothing of the kind is ever asked or kept.

A deep link may preset single-choice answers (`start(preset=...)`: the provider named
by the poster at the service point): when the dialog reaches such a question, and no
consent for its purpose is pending, the preset key is recorded exactly as a tap would
be (an answer, in the history, so "back" can change it), the citizen sees the question
with the chosen answer under it, and the dialog walks on. Each preset is used once; an
unknown step or an option the question does not offer is dropped, and the question is
asked as usual.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, cast

from dialogs import answers as parse
from dialogs.answers import Accepted, Choice, Problem
from dialogs.conditions import holds
from dialogs.events import (
    DONE,
    PROPOSE,
    SKIP,
    UNDO,
    VOTE_PREFIXES,
    AnswerRecord,
    Button,
    ButtonPress,
    CommandInput,
    ConsentDecision,
    Deck,
    Event,
    MediaInput,
    Message,
    Proposal,
    Role,
    TextInput,
    Translator,
    Turn,
    VoteRecord,
)
from dialogs.render import fill, render
from dialogs.schema import CONTACT_PURPOSE, END, NAMED_PURPOSE, Flow, Option, Step, StepKind, Text

#: Telegram refuses longer messages.
MAX_MESSAGE_LENGTH = 4096
#: Questions answered through the keyboard under the input field (Telegram's request
#: buttons) rather than inline buttons; their "Skip" comes back as typed text.
REQUEST_KINDS = frozenset({StepKind.LOCATION, StepKind.CONTACT})

Status = Literal["active", "completed", "closed"]

#: A statements step asks about this many statements at most, unless it says; a
#: priorities step offers this many of the most agreed ideas, and asks for the top three.
STATEMENTS_SHOWN = 20
IDEAS_OFFERED = 8
IDEAS_PICKED = 3
#: In a statements step's `pending`: a proposal was sent in this visit; the citizen
#: is writing one now.
PROPOSED = "+"
WRITING = "~write"
#: A proposal shorter than this (after trimming) is asked again: "ok" is not an idea.
MIN_PROPOSAL = 3
MAX_PROPOSAL = 500

#: Questions answered by typing (no buttons of their own).
TYPED_KINDS = frozenset({StepKind.TEXT, StepKind.NUMBER, StepKind.DATE})
#: The pseudo question ids of the consents the engine asks (button data names them).
CONSENT_QUESTIONS = {CONTACT_PURPOSE: "~contact", NAMED_PURPOSE: "~named"}


class StoredAnswer(TypedDict):
    value: Any
    display: str
    skipped: bool


class DialogState(TypedDict):
    """A citizen's progress through one flow version; plain JSON.

    `current` is the question being asked (None once finished). `history` holds the
    ids of the questions answered on the way here, in order, for "back"; `answers`
    holds exactly their answers. `pending` is the unfinished work on the current
    question: toggled keys of a multiple choice, or the order so far of a ranking.
    `status` is "closed" when the flow was not open on the day the citizen started.
    """

    flow_id: str
    version: int
    language: str
    current: str | None
    status: Status
    answers: dict[str, StoredAnswer]
    history: list[str]
    pending: list[str]
    #: purpose -> the citizen's decision in this run; absent in states saved before
    #: consent per purpose, and until the purpose is asked.
    consents: NotRequired[dict[str, bool]]
    #: step id -> option key the deep link chose, until that question is reached;
    #: absent when there is none (and in states saved before presets).
    preset: NotRequired[dict[str, str]]
    #: step id -> the statement ids its message shows now: the statement being voted
    #: on, or the ideas a priorities step offers (kept so the screen does not change
    #: under the citizen's thumb while others vote); absent when there is none.
    shown: NotRequired[dict[str, list[str]]]


def start(
    flow: Flow,
    language: str,
    *,
    texts: Translator,
    today: dt.date | None = None,
    preset: Mapping[str, str] | None = None,
    deck: Deck | None = None,
) -> Turn:
    """Begin `flow` in `language`: its opening messages and first question.

    `today`, when given, is checked against the flow's opens/closes dates: a closed
    consultation gets a notice and a "closed" state instead of questions. `preset`
    ({step id: option key}, from a deep link) answers those single-choice questions
    when the dialog reaches them; entries that name no such question or option are
    dropped, since a mistyped poster link must still open the consultation. `deck`
    is what storage knows of the statements the flow's statements and priorities steps
    offer; without it (the simulator) they offer the statements seeded in the flow.
    """
    state = DialogState(
        flow_id=flow.id,
        version=flow.version,
        language=language if language in flow.languages else flow.default_language,
        current=None,
        status="active",
        answers={},
        history=[],
        pending=[],
    )
    valid = valid_preset(flow, preset or {})
    if valid:
        state["preset"] = valid
    run = _Run(flow, state, texts, deck)
    if today is not None and not flow.is_open(today):
        state["status"] = "closed"
        run.notice(texts.gettext("This consultation is not open at the moment."))
    else:
        run.walk(0)
    return run.turn()


def advance(
    flow: Flow,
    state: Mapping[str, Any],
    event: Event,
    *,
    texts: Translator,
    deck: Deck | None = None,
) -> Turn:
    """One citizen input applied to `state`; `state` itself is not modified."""
    loaded = _load(state, flow)
    if loaded is None:
        message = texts.gettext(
            "Sorry, we could not continue this conversation. Please start again."
        )
        return Turn(
            state=copy.deepcopy(dict(state)),
            outputs=(Message(text=message, role="notice"),),
            notes=(f"state does not belong to flow {flow.id} version {flow.version}",),
        )
    run = _Run(flow, loaded, texts, deck)
    current = loaded["current"]
    if loaded["status"] == "closed":
        run.notice(texts.gettext("This consultation is not open at the moment."))
    elif loaded["status"] == "completed" or current is None:
        run.notice(texts.gettext("This consultation is finished. Thank you for taking part."))
    elif (purpose := run.undecided(flow.step(current))) is not None:
        run.decide(flow.step(current), purpose, event)
    elif run.refused(flow.step(current)):
        # Consent withdrawn while this question was asked: pass over it, keep nothing.
        run.walk(run.after(flow.step(current)))
    elif isinstance(event, CommandInput):
        run.command(flow.step(current), event.name)
    elif isinstance(event, ButtonPress):
        run.press(flow.step(current), event)
    else:
        run.input(flow.step(current), event)
    return run.turn()


def valid_preset(flow: Flow, preset: Mapping[Any, Any]) -> dict[str, str]:
    """The entries of `preset` that name a single-choice question of `flow` and one of
    its options; anything else (unknown steps, other kinds, foreign keys, non-strings)
    is left out rather than refused."""
    valid: dict[str, str] = {}
    for step_id, key in preset.items():
        if not isinstance(step_id, str) or not isinstance(key, str):
            continue
        step = next((s for s in flow.steps if s.id == step_id), None)
        if step is not None and _presettable(step, key):
            valid[step_id] = key
    return valid


def _presettable(step: Step, key: str) -> bool:
    return step.kind is StepKind.SINGLE_CHOICE and any(o.key == key for o in step.options)


def _load(raw: Mapping[str, Any], flow: Flow) -> DialogState | None:
    """A private copy of `raw` if it is a well-formed state of this very flow version."""
    try:
        state = cast(DialogState, copy.deepcopy(dict(raw)))
        current = state["current"]
        valid = (
            state["flow_id"] == flow.id
            and state["version"] == flow.version
            and isinstance(state["language"], str)
            and state["status"] in ("active", "completed", "closed")
            and (current is None or flow.step(current).is_question)
            and (current is not None or state["status"] != "active")
            and isinstance(state["answers"], dict)
            and all(isinstance(a, dict) for a in state["answers"].values())
            and isinstance(state["history"], list)
            and isinstance(state["pending"], list)
            and all(isinstance(k, str) for k in [*state["history"], *state["pending"]])
            and isinstance(state.get("consents", {}), dict)
            and isinstance(state.get("preset", {}), dict)
            and isinstance(state.get("shown", {}), dict)
            and all(isinstance(ids, list) for ids in state.get("shown", {}).values())
        )
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    return state if valid else None


class _Run:
    """One engine call: the state being changed and everything the turn reports."""

    def __init__(
        self, flow: Flow, state: DialogState, texts: Translator, deck: Deck | None = None
    ) -> None:
        self.flow = flow
        self.state = state
        self.texts = texts
        self.deck = deck
        self.outputs: list[Message] = []
        self.answered: list[AnswerRecord] = []
        self.cleared: list[str] = []
        self.notes: list[str] = []
        self.completed = False
        self.restarted = False
        self.consents: list[ConsentDecision] = []
        self.votes: list[VoteRecord] = []
        self.proposals: list[Proposal] = []

    def turn(self) -> Turn:
        return Turn(
            state=cast(dict[str, Any], self.state),
            outputs=tuple(self.outputs),
            answered=tuple(self.answered),
            cleared=tuple(dict.fromkeys(self.cleared)),
            completed=self.completed,
            restarted=self.restarted,
            consents=tuple(self.consents),
            votes=tuple(self.votes),
            proposals=tuple(self.proposals),
            notes=tuple(self.notes),
        )

    # --- texts ---------------------------------------------------------------------

    def text(self, text: Text) -> str:
        """A flow text localized, with `{{step_id}}` filled from the answers."""
        return render(self.flow.localize(text, self.state["language"]), self.state["answers"])

    def emit(self, role: Role, text: str, **fields: Any) -> None:
        self.outputs.append(Message(text=_fit(text), role=role, **fields))

    def notice(self, text: str) -> None:
        self.emit("notice", text)

    def choices(self, step: Step) -> list[Choice]:
        if step.kind is StepKind.PRIORITIES:
            # The ideas on screen, answered by their number (a statement is too long
            # for a button).
            return [Choice(i, self.card_text(i)) for i in self.shown(step)]
        return [Choice(o.key, self.text(o.label), o.emoji) for o in step.options]

    def option_label(self, option: Option) -> str:
        label = self.text(option.label).strip() or option.key  # a blank label is no button
        return f"{option.emoji} {label}" if option.emoji else label

    # --- walking -------------------------------------------------------------------

    def walk(self, index: int | None) -> None:
        """Show message steps from `index` on until a question is asked or the end."""
        for _ in range(len(self.flow.steps) + 1):
            if index is None or index >= len(self.flow.steps):
                break
            step = self.flow.steps[index]
            if step.is_question and self.refused(step):
                index = self.after(step)  # the citizen said no to what it asks for
                continue
            self.state["current"] = step.id
            if step.is_question:
                self.arrive(step)
                return
            self.emit("say", self.text(step.text), step_id=step.id)
            index = self.after(step)
        else:
            self.notes.append("message steps loop; ending the dialog")
        self.finish()

    def after(self, step: Step) -> int | None:
        """Index of the step that follows `step`, or None for the end."""
        for rule in step.next:
            if rule.when is None or holds(rule.when, self.state["answers"]):
                if rule.goto == END:
                    return None
                try:
                    return self.flow.step_index(rule.goto)
                except KeyError:
                    self.notes.append(f"{step.id}: unknown goto {rule.goto!r}; ending")
                    return None
        return self.flow.step_index(step.id) + 1

    def finish(self) -> None:
        answers = self.state["answers"]
        end = next((e for e in self.flow.ends if e.when is None or holds(e.when, answers)), None)
        text = self.text(end.text) if end else self.texts.gettext("Thank you for taking part.")
        self.emit("end", text)
        self.state["current"] = None
        self.state["status"] = "completed"
        self.state["pending"] = []
        self.completed = True

    def accept(self, step: Step, answer: Accepted | None) -> None:
        """Record an answer (None: skipped) and walk on."""
        stored = StoredAnswer(
            value=answer.value if answer else None,
            display=answer.display if answer else "",
            skipped=answer is None,
        )
        self.state["answers"][step.id] = stored
        self.state["history"].append(step.id)
        self.state["pending"] = []
        self.forget_shown(step.id)
        self.answered.append(AnswerRecord(step.id, **stored))
        self.walk(self.after(step))

    # --- consent per purpose --------------------------------------------------------

    def undecided(self, step: Step) -> str | None:
        """The purpose to ask about before `step`, if the citizen has not decided it."""
        decided = self.state.get("consents", {})
        naming = self.flow.name_consent is not None and not self.state["history"]
        if naming and NAMED_PURPOSE not in decided:
            return NAMED_PURPOSE
        if step.purpose is not None and step.purpose not in decided:
            return step.purpose
        return None

    def refused(self, step: Step) -> bool:
        return (
            step.purpose is not None and self.state.get("consents", {}).get(step.purpose) is False
        )

    def consent_question(self, purpose: str) -> Message:
        gettext = self.texts.gettext
        if purpose == CONTACT_PURPOSE:
            why = self.flow.contact_consent
            ask = gettext(
                "Do you agree that we keep your contact details for this? "
                "If not, we skip these questions."
            )
        else:
            why = self.flow.name_consent
            ask = gettext(
                "Do you agree that your name is shown with your answers? "
                "If not, your answers stay under a code."
            )
        parts = [self.text(why) if why is not None else "", ask]
        return Message(
            text=_fit("\n\n".join(part for part in parts if part.strip())),
            role="question",
            step_id=CONSENT_QUESTIONS[purpose],
            buttons=(Button("yes", gettext("Yes")), Button("no", gettext("No"))),
            expects="yes_no",
        )

    def decide(self, step: Step, purpose: str, event: Event) -> None:
        """The citizen's answer to a consent question; commands other than /skip (a
        "no") work as on any question."""
        question = CONSENT_QUESTIONS[purpose]
        granted: bool | None = None
        if isinstance(event, ButtonPress):
            if event.step_id == question and event.key in ("yes", "no"):
                granted = event.key == "yes"
            else:
                self.notice(
                    self.texts.gettext(
                        "That button belongs to an earlier question. Here is the current one."
                    )
                )
        elif isinstance(event, TextInput):
            typed = parse.parse_yes_no(event.text, self.texts)
            if isinstance(typed, Accepted):
                granted = bool(typed.value)
        elif isinstance(event, CommandInput):
            if event.name == "skip":
                granted = False
            elif event.name in ("back", "restart"):
                self.command(step, event.name)
                return
        if granted is None:
            if not isinstance(event, (ButtonPress, CommandInput)):
                self.emit("hint", self.texts.gettext("Please tap Yes or No."), step_id=question)
            self.ask(step)
            return
        self.state.setdefault("consents", {})[purpose] = granted
        display = self.texts.gettext("Yes") if granted else self.texts.gettext("No")
        self.consents.append(ConsentDecision(purpose, granted, question, display))
        if self.refused(step):
            self.walk(self.after(step))
        else:
            self.arrive(step)

    # --- presets -------------------------------------------------------------------

    def arrive(self, step: Step) -> None:
        """The dialog reaches the question `step`: answered by the link's preset when
        there is one for it and no consent is pending, asked otherwise."""
        preset = self.state.get("preset", {})
        key = preset.get(step.id)
        if not isinstance(key, str) or not _presettable(step, key) or self.undecided(step):
            self.ask(step)
            return
        del preset[step.id]  # used once: after "back" the citizen chooses themselves
        if not preset:
            self.state.pop("preset", None)
        label = parse.label_of(key, self.choices(step))
        # The question with the chosen answer under it, as a tapped question is shown
        # closed, so the citizen knows what the link chose (and that "back" changes it).
        self.emit("say", f"{self.text(step.text)}\n\n✓ {label}", step_id=step.id)
        self.accept(step, Accepted(key, label))

    # --- asking --------------------------------------------------------------------

    def ask(self, step: Step, *, edit: bool = False) -> None:
        purpose = self.undecided(step)
        if purpose is not None:
            self.outputs.append(self.consent_question(purpose))
            return
        if step.kind in (StepKind.STATEMENTS, StepKind.PRIORITIES) and not self.deal(step):
            return  # nothing (more) to show: the step was answered and the dialog went on
        self.outputs.append(self.question(step, edit=edit))

    def question(self, step: Step, *, edit: bool = False) -> Message:
        gettext = self.texts.gettext
        parts = [self.text(step.text)]
        if step.help is not None:
            parts.append(self.text(step.help))
        pending = self.state["pending"]
        buttons: list[Button] = []
        match step.kind:
            case StepKind.SINGLE_CHOICE:
                buttons = [Button(o.key, self.option_label(o)) for o in step.options]
            case StepKind.MULTIPLE_CHOICE:
                if step.max_picks is None:
                    how = gettext("Choose all that apply, then tap “{done}”.")
                else:
                    how = self.texts.ngettext(
                        "Choose up to {n} option, then tap “{done}”.",
                        "Choose up to {n} options, then tap “{done}”.",
                        step.max_picks,
                    )
                parts.append(fill(how, n=step.max_picks or 0, done=gettext("Done")))
                buttons = [
                    Button(o.key, self.option_label(o), selected=o.key in pending)
                    for o in step.options
                ]
                buttons.append(Button(DONE, gettext("Done")))
            case StepKind.RANKING:
                parts.append(gettext("Tap the options in order, the most important first."))
                choices = self.choices(step)
                ranks = [f"{n}. {parse.label_of(k, choices)}" for n, k in enumerate(pending, 1)]
                parts.append("\n".join(ranks))
                buttons = [
                    Button(o.key, self.option_label(o))
                    for o in step.options
                    if o.key not in pending
                ]
                if pending:
                    buttons.append(Button(UNDO, gettext("Undo")))
            case StepKind.SCALE:
                low, high = int(step.min or 0), int(step.max or 0)
                ends = [
                    fill(gettext("{point} = {label}"), point=point, label=self.text(label))
                    for point, label in ((low, step.min_label), (high, step.max_label))
                    if label is not None
                ]
                parts.append(" … ".join(ends))
                emoji = step.emoji or []
                buttons = [
                    Button(str(point), emoji[i] if i < len(emoji) else str(point))
                    for i, point in enumerate(range(low, high + 1))
                ]
            case StepKind.YES_NO:
                buttons = [Button("yes", gettext("Yes")), Button("no", gettext("No"))]
            case StepKind.STATEMENTS:
                return self.statement_question(step, parts, edit=edit)
            case StepKind.PRIORITIES:
                parts.append(gettext("Tap the numbers in order, the most important first."))
                parts.append(
                    "\n".join(
                        f"{n}. {'✅ ' if c.key in pending else ''}{c.label}"
                        for n, c in enumerate(self.choices(step), 1)
                    )
                )
                buttons = [
                    Button(c.key, str(n))
                    for n, c in enumerate(self.choices(step), 1)
                    if c.key not in pending
                ]
                if pending:
                    buttons.append(Button(UNDO, gettext("Undo")))
        if not step.required:
            buttons.append(Button(SKIP, gettext("Skip")))
        questions = self.flow.questions
        number = next(i for i, q in enumerate(questions, 1) if q.id == step.id)
        text = "\n\n".join(part for part in parts if part.strip())
        return Message(
            text=_fit(text),
            role="question",
            step_id=step.id,
            buttons=tuple(buttons),
            expects=step.kind.value,
            progress=(number, len(questions)),
            allow_skip=not step.required,
            edit=edit,
        )

    def hint(self, step: Step, problem: Problem, *, again: bool = True) -> None:
        if step.error is not None:
            self.emit("hint", self.text(step.error), step_id=step.id)
        else:
            self.emit("hint", parse.explain(problem, self.texts), step_id=step.id)
        if again:
            self.ask(step)

    # --- inputs --------------------------------------------------------------------

    def input(self, step: Step, event: Event) -> None:
        if step.kind is StepKind.STATEMENTS:
            self.statement_input(step, event)
            return
        if step.kind is StepKind.PRIORITIES:
            self.priorities_input(step, event)
            return
        if (
            not step.required
            and step.kind in REQUEST_KINDS
            and isinstance(event, TextInput)
            and parse.is_label(event.text, self.texts.gettext("Skip"))
        ):
            # The "Skip" button of the reply keyboard under a location or contact
            # question arrives as its text.
            self.accept(step, None)
            return
        parsed = parse.interpret(
            step,
            event,
            self.choices(step),
            self.texts,
            self.state["language"],
            phone_region=self.flow.phone_region,
        )
        if isinstance(parsed, Problem):
            # A photo, a location or a sticker sent to a question answered by typing:
            # the question is just above, so a short hint says what to send instead
            # (repeating a long question after every photo buries it).
            typed = isinstance(event, TextInput) or step.kind not in TYPED_KINDS
            self.hint(step, parsed, again=typed)
        elif step.kind is StepKind.MULTIPLE_CHOICE and not parsed.value:
            self.accept(step, None)
        else:
            self.accept(step, parsed)

    def press(self, step: Step, event: ButtonPress) -> None:
        if step.kind is StepKind.STATEMENTS and event.step_id == step.id:
            self.statement_press(step, event.key)
            return
        shown = {button.key for button in self.question(step).buttons}
        if event.step_id != step.id or event.key not in shown:
            self.notice(
                self.texts.gettext(
                    "That button belongs to an earlier question. Here is the current one."
                )
            )
            self.ask(step)
            return
        key = event.key
        if key == SKIP:
            self.accept(step, None)
            return
        match step.kind:
            case StepKind.SINGLE_CHOICE:
                self.accept(step, Accepted(key, parse.label_of(key, self.choices(step))))
            case StepKind.SCALE:
                self.accept(step, Accepted(int(key), key))
            case StepKind.YES_NO:
                self.accept(step, parse.yes_no_answer(key == "yes", self.texts))
            case StepKind.MULTIPLE_CHOICE:
                self.toggle(step, key)
            case StepKind.RANKING | StepKind.PRIORITIES:
                self.rank(step, key)

    def toggle(self, step: Step, key: str) -> None:
        pending = self.state["pending"]
        if key == DONE:
            parsed = parse.check_picks(
                pending,
                self.choices(step),
                min_picks=parse.min_picks(step),
                max_picks=step.max_picks,
            )
            if isinstance(parsed, Problem):
                self.hint(step, parsed)
            else:
                self.accept(step, parsed if parsed.value else None)
        elif key in pending:
            pending.remove(key)
            self.ask(step, edit=True)
        elif step.max_picks is not None and len(pending) >= step.max_picks:
            self.hint(step, Problem("picks_max", {"n": step.max_picks}))
        else:
            pending.append(key)
            self.ask(step, edit=True)

    def rank(self, step: Step, key: str) -> None:
        pending = self.state["pending"]
        if key == UNDO:
            pending.pop()
        else:
            pending.append(key)
        done = parse.finish_ranking(pending, self.choices(step), self.rank_up_to(step))
        if isinstance(done, Accepted):
            self.accept(step, done)
        else:
            self.ask(step, edit=True)

    # --- commands ------------------------------------------------------------------

    def command(self, step: Step, name: str) -> None:
        gettext = self.texts.gettext
        state = self.state
        if name == "skip" and step.kind is StepKind.STATEMENTS:
            self.finish_statements(step)  # "/skip" on statements: enough, go on
        elif name == "skip":
            if step.required:
                self.notice(gettext("This question needs an answer."))
                self.ask(step)
            else:
                self.accept(step, None)
        elif name == "back":
            if not state["history"]:
                self.notice(gettext("You are at the first question."))
                self.ask(step)
                return
            previous = state["history"].pop()
            self.forget_shown(step.id)
            keep = set(state["history"])
            self.cleared += [previous, *(s for s in state["answers"] if s not in keep)]
            state["answers"] = {
                s: a for s, a in state["answers"].items() if s in keep and s != previous
            }
            state["current"] = previous
            state["pending"] = []
            self.ask(self.flow.step(previous))
        elif name == "restart":
            self.cleared += list(state["answers"])
            state["answers"], state["history"], state["pending"] = {}, [], []
            state.pop("shown", None)
            # A fresh start asks each purpose again (each decision is a new record).
            state.pop("consents", None)
            self.restarted = True
            self.walk(0)
        else:
            self.ask(step)

    # --- statements and priorities -----------------------------------------------------

    def shown(self, step: Step) -> list[str]:
        return self.state.get("shown", {}).get(step.id, [])

    def forget_shown(self, step_id: str) -> None:
        shown = self.state.get("shown", {})
        shown.pop(step_id, None)
        if not shown:
            self.state.pop("shown", None)

    def card_text(self, card: str) -> str:
        """A statement's text: storage's (the deck), else the flow's seeded option."""
        if self.deck is not None:
            return self.deck.texts.get(card, "…")
        for step in self.flow.steps:
            for option in step.options:
                if step.kind is StepKind.STATEMENTS and option.key == card:
                    return self.text(option.label)
        return "…"

    def offered(self, step: Step) -> list[str]:
        """The statement ids the step may show, best first."""
        if self.deck is not None:
            return [c for c in self.deck.order.get(step.id, ()) if c in self.deck.texts]
        source = step
        if step.kind is StepKind.PRIORITIES and step.ideas_from is not None:
            source = self.flow.step(step.ideas_from)
        return [o.key for o in source.options]

    def votes_here(self) -> list[str]:
        return [p for p in self.state["pending"] if p not in (PROPOSED, WRITING)]

    def rank_up_to(self, step: Step) -> int:
        if step.kind is StepKind.PRIORITIES:
            return min(step.rank_up_to or IDEAS_PICKED, len(self.shown(step)))
        return parse.rank_up_to(step)

    def deal(self, step: Step) -> bool:
        """Put the next statement (or the priorities' ideas) on screen; False when
        there is nothing to show and the step has been answered instead."""
        if self.shown(step) or WRITING in self.state["pending"]:
            return True
        shown = self.state.setdefault("shown", {})
        if step.kind is StepKind.PRIORITIES:
            ideas = self.offered(step)[: step.max_statements or IDEAS_OFFERED]
            if ideas:
                shown[step.id] = ideas
                return True
            self.forget_shown(step.id)
            self.accept(step, None)  # no approved ideas yet: nothing to choose from
            return False
        voted = self.votes_here()
        fresh = [c for c in self.offered(step) if c not in voted]
        if fresh and len(voted) < (step.max_statements or STATEMENTS_SHOWN):
            shown[step.id] = [fresh[0]]
            return True
        self.forget_shown(step.id)
        if step.allow_proposals and PROPOSED not in self.state["pending"]:
            return True  # "that was the last one: add your own?"
        self.finish_statements(step)
        return False

    def statement_question(self, step: Step, parts: list[str], *, edit: bool) -> Message:
        gettext = self.texts.gettext
        buttons: list[Button] = []
        progress: tuple[int, int] | None = None
        card = next(iter(self.shown(step)), None)
        if WRITING in self.state["pending"]:
            parts = [
                gettext(
                    "Write your idea in a sentence or two, or send a voice message. Others "
                    "will see it once a moderator has read it; your name is never shown."
                )
            ]
            buttons = [Button(UNDO, gettext("Back to the statements"))]
        elif card is not None:
            voted = len(self.votes_here())
            left = [c for c in self.offered(step) if c not in self.votes_here()]
            total = min(voted + max(len(left), 1), step.max_statements or STATEMENTS_SHOWN)
            progress = (voted + 1, max(total, voted + 1))
            parts.append(f"« {self.card_text(card)} »")
            buttons = [
                Button(f"a{card}", gettext("👍 Agree")),
                Button(f"d{card}", gettext("👎 Disagree")),
                Button(f"p{card}", gettext("🤷 Pass")),
            ]
            if step.allow_proposals:
                buttons.append(Button(PROPOSE, gettext("✍️ Add my own")))
            buttons.append(Button(DONE, gettext("Go on")))
        else:
            parts = [
                gettext("That was the last statement. Would you like to add an idea of your own?")
            ]
            buttons = [Button(PROPOSE, gettext("✍️ Add my own")), Button(DONE, gettext("Go on"))]
        return Message(
            text=_fit("\n\n".join(part for part in parts if part.strip())),
            role="question",
            step_id=step.id,
            buttons=tuple(buttons),
            expects="text" if WRITING in self.state["pending"] else step.kind.value,
            progress=progress,
            edit=edit,
        )

    def statement_press(self, step: Step, key: str) -> None:
        pending = self.state["pending"]
        card = next(iter(self.shown(step)), None)
        if key in (DONE, SKIP):  # "Go on", or a skip button of an older copy
            self.finish_statements(step)
        elif key == PROPOSE and step.allow_proposals and WRITING not in pending:
            pending.append(WRITING)
            self.ask(step, edit=True)
        elif key == UNDO and WRITING in pending:
            pending.remove(WRITING)
            self.ask(step, edit=True)
        elif key[:1] in VOTE_PREFIXES and card is not None and key[1:] == card:
            self.vote(step, card, VOTE_PREFIXES[key[:1]])
        elif key[:1] in VOTE_PREFIXES and key[1:] in self.votes_here():
            pass  # a second tap on a statement already voted on: nothing to do
        else:
            self.notice(
                self.texts.gettext(
                    "That button belongs to an earlier question. Here is the current one."
                )
            )
            self.ask(step)

    def vote(self, step: Step, card: str, vote: int) -> None:
        self.votes.append(VoteRecord(step.id, card, vote))
        self.state["pending"].append(card)
        self.forget_shown(step.id)
        self.ask(step, edit=True)

    def statement_input(self, step: Step, event: Event) -> None:
        gettext = self.texts.gettext
        writing = WRITING in self.state["pending"]
        card = next(iter(self.shown(step)), None)
        if isinstance(event, MediaInput) and event.kind == "voice" and step.allow_proposals:
            # A voice message is a contribution whether or not "add" was tapped.
            self.propose(step, Proposal(step.id, "🎤", event.file_id, event.duration))
            return
        if not isinstance(event, TextInput):
            self.emit("hint", self.vote_hint(), step_id=step.id)
            return
        text = " ".join(event.text.split())
        if writing:
            if len(text) < MIN_PROPOSAL:
                hint = gettext("Please write a little more: a sentence or two.")
                self.emit("hint", hint, step_id=step.id)
                return
            self.propose(step, Proposal(step.id, text[:MAX_PROPOSAL]))
            return
        typed = self.typed_vote(text)
        propose, go_on = gettext("✍️ Add my own"), gettext("Go on")
        if step.allow_proposals and (
            parse.is_label(text, propose) or parse.is_label(text, propose.split(" ", 1)[-1])
        ):
            self.statement_press(step, PROPOSE)
        elif parse.is_label(text, go_on):
            self.finish_statements(step)
        elif card is not None and typed is not None:
            self.vote(step, card, typed)
        elif card is None and typed == 1 and step.allow_proposals:
            self.statement_press(step, PROPOSE)
        elif card is None and typed == -1:
            self.finish_statements(step)
        else:
            self.emit("hint", self.vote_hint(), step_id=step.id)
            self.ask(step)

    def vote_hint(self) -> str:
        return self.texts.gettext(
            "Please tap 👍, 👎 or 🤷 under the statement. To add an idea of your own, "
            "tap “✍️ Add my own”."
        )

    def typed_vote(self, text: str) -> int | None:
        """Agree (1), disagree (-1) or pass (0) typed as a button's words, with or
        without its emoji, or as yes / no in the dialog's language."""
        gettext = self.texts.gettext
        for label, vote in (("👍 Agree", 1), ("👎 Disagree", -1), ("🤷 Pass", 0)):
            shown = gettext(label)
            if parse.is_label(text, shown) or parse.is_label(text, shown.split(" ", 1)[-1]):
                return vote
            if text.strip() == label.split(" ", 1)[0]:
                return vote  # the emoji alone
        yes_no = parse.parse_yes_no(text, self.texts)
        if isinstance(yes_no, Accepted):
            return 1 if yes_no.value else -1
        return None

    def propose(self, step: Step, proposal: Proposal) -> None:
        pending = self.state["pending"]
        if WRITING in pending:
            pending.remove(WRITING)
        pending.append(PROPOSED)
        self.proposals.append(proposal)
        self.emit(
            "say",
            self.texts.gettext(
                "Thank you! Your idea will be shown to others once a moderator has read it."
            ),
            step_id=step.id,
        )
        self.ask(step)

    def finish_statements(self, step: Step) -> None:
        votes = len(self.votes_here())
        shown = self.texts.ngettext("{n} statement", "{n} statements", votes)
        self.accept(step, Accepted(votes, fill(shown, n=votes)))

    def priorities_input(self, step: Step, event: Event) -> None:
        if isinstance(event, TextInput):
            up_to = self.rank_up_to(step)
            parsed = parse.parse_ranking(event.text, self.choices(step), up_to=up_to)
            if isinstance(parsed, Accepted):
                self.accept(step, parsed)
                return
        self.emit(
            "hint",
            self.texts.gettext("Please tap the numbers of the ideas, the most important first."),
            step_id=step.id,
        )
        self.ask(step)


def _fit(text: str) -> str:
    if not text.strip():
        return "…"
    if len(text) > MAX_MESSAGE_LENGTH:
        return text[: MAX_MESSAGE_LENGTH - 1] + "…"
    return text
