"""The consultation flow format: what a staff member may write in a flow YAML file.

This module owns the format. Everything else (loader checks, engine, simulator, bot,
export, Babel extractor) reads flows only through these models, so a field added here
is the one place that changes. Validation is strict (`extra="forbid"`) because a typo
in a flow file silently ignored would show citizens the wrong dialog.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

#: Text shown to citizens: either one string in the flow's default language (other
#: languages then come from the flow's gettext catalogs) or a mapping language -> text.
Text = str | dict[str, str]

Scalar = str | int | float | bool

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]{0,23}$"
OPTION_KEY_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"

StepId = Annotated[str, Field(pattern=STEP_ID_PATTERN)]
OptionKey = Annotated[str, Field(pattern=OPTION_KEY_PATTERN)]

#: The purposes a citizen consents to besides taking part (storage's ConsentPurpose
#: spells them the same): being called back (phone, a home location) and being named.
CONTACT_PURPOSE = "contact"
NAMED_PURPOSE = "named"

#: A `goto` target that ends the dialog (the end message is then chosen by `ends`).
END = "end"


class StepKind(StrEnum):
    MESSAGE = "message"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    TEXT = "text"
    NUMBER = "number"
    SCALE = "scale"
    YES_NO = "yes_no"
    DATE = "date"
    LOCATION = "location"
    PHOTO = "photo"
    VOICE = "voice"
    CONTACT = "contact"
    RANKING = "ranking"
    #: Citizens vote agree / disagree / pass on statements (seeded by staff as the
    #: step's options, and other citizens' once approved) and may add their own.
    STATEMENTS = "statements"
    #: Citizens pick and order their top ideas from a statements step's approved ones.
    PRIORITIES = "priorities"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Strict):
    """A branching condition written as data, never code.

    Exactly one operator per condition. Comparisons name the step whose answer they
    test: `{step: age, equals: "80_plus"}`, `{step: rating, less: 3}`,
    `{answered: phone}`, `{all: [...]}`, `{not: {...}}`.
    """

    step: StepId | None = None
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    contains: Scalar | None = None
    greater: float | None = None
    less: float | None = None
    answered: StepId | None = None
    skipped: StepId | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_operator(self) -> Self:
        ops = self.operators()
        if len(ops) != 1:
            raise ValueError(
                "a condition needs exactly one of equals, in, contains, greater, less, "
                f"answered, skipped, all, any, not (found: {', '.join(ops) or 'none'})"
            )
        needs_step = ops[0] in {"equals", "in", "contains", "greater", "less"}
        if needs_step and self.step is None:
            raise ValueError(f"'{ops[0]}' needs 'step:' naming the question it tests")
        if not needs_step and self.step is not None:
            raise ValueError(f"'{ops[0]}' does not take 'step:'")
        return self

    def operators(self) -> list[str]:
        names = {"in_": "in", "not_": "not"}
        fields = (
            "equals",
            "in_",
            "contains",
            "greater",
            "less",
            "answered",
            "skipped",
            "all",
            "any",
            "not_",
        )
        return [names.get(f, f) for f in fields if getattr(self, f) is not None]

    def referenced_steps(self) -> set[str]:
        """Step ids whose answers this condition reads (for load-time checks)."""
        refs = {s for s in (self.step, self.answered, self.skipped) if s is not None}
        for child in [*(self.all or []), *(self.any or [])]:
            refs |= child.referenced_steps()
        if self.not_ is not None:
            refs |= self.not_.referenced_steps()
        return refs


class NextRule(_Strict):
    """`goto` a step (or `end`) when the condition holds; no `when` means always."""

    when: Condition | None = None
    goto: str


class Option(_Strict):
    key: OptionKey
    label: Text
    emoji: str | None = None


class Step(_Strict):
    id: StepId
    kind: StepKind
    text: Text
    help: Text | None = None
    error: Text | None = None
    required: bool = True
    next: list[NextRule] = Field(default_factory=list)

    # choices, multiple choice, ranking
    options: list[Option] = Field(default_factory=list)
    min_picks: int | None = Field(default=None, ge=0)
    max_picks: int | None = Field(default=None, ge=1)
    # free text
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1, le=4000)
    allow_voice: bool = True
    #: A photo or a shared location sent to this text question is kept as its answer
    #: (someone who shows rather than writes); otherwise it gets a short hint.
    allow_media: bool = False
    # number and scale
    min: float | None = None
    max: float | None = None
    integer: bool = True
    min_label: Text | None = None
    max_label: Text | None = None
    emoji: list[str] | None = None
    # date
    min_date: dt.date | None = None
    max_date: dt.date | None = None
    # location
    allow_typed: bool = True
    #: A location that says where to reach the citizen (their home, for a visit), not
    #: where a problem is: asked, kept and withdrawn under the contact consent, like a
    #: contact step (see `purpose`).
    contact_data: bool = False
    # ranking, priorities
    rank_up_to: int | None = Field(default=None, ge=1)
    # statements: how many statements one citizen is asked about at most (default 20);
    # priorities: how many of the most agreed ideas are offered (default 8).
    max_statements: int | None = Field(default=None, ge=1, le=100)
    # statements: whether a citizen may add a statement of their own (moderated first)
    allow_proposals: bool = True
    # priorities: the statements step whose approved ideas are offered
    ideas_from: StepId | None = None

    @property
    def is_question(self) -> bool:
        return self.kind is not StepKind.MESSAGE

    @property
    def purpose(self) -> str | None:
        """The consent this question's answer needs beyond taking part: "contact" for
        a phone number and a location marked `contact_data`, else None."""
        if self.kind is StepKind.CONTACT or self.contact_data:
            return CONTACT_PURPOSE
        return None

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        choice_kinds = {StepKind.SINGLE_CHOICE, StepKind.MULTIPLE_CHOICE, StepKind.RANKING}
        if self.kind in choice_kinds and len(self.options) < 2:
            raise ValueError(f"a {self.kind.value} step needs at least two options")
        if self.kind not in choice_kinds | {StepKind.STATEMENTS} and self.options:
            raise ValueError(f"a {self.kind.value} step does not take options")
        if (self.kind is StepKind.PRIORITIES) != (self.ideas_from is not None):
            raise ValueError(
                "a priorities step needs ideas_from (the statements step it offers ideas of)"
                if self.kind is StepKind.PRIORITIES
                else "ideas_from is for a priorities step"
            )
        if self.max_statements is not None and self.kind not in {
            StepKind.STATEMENTS,
            StepKind.PRIORITIES,
        }:
            raise ValueError("max_statements is for a statements or priorities step")
        keys = [o.key for o in self.options]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"duplicate option keys: {', '.join(dupes)}")
        if (
            self.min_picks is not None
            and self.max_picks is not None
            and self.min_picks > self.max_picks
        ):
            raise ValueError("min_picks is greater than max_picks")
        if self.max_picks is not None and self.options and self.max_picks > len(self.options):
            raise ValueError("max_picks is greater than the number of options")
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise ValueError("min_length is greater than max_length")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        if self.kind is StepKind.SCALE:
            if self.min is None or self.max is None:
                raise ValueError("a scale step needs min and max (e.g. 1 and 5)")
            if not (float(self.min).is_integer() and float(self.max).is_integer()):
                raise ValueError("a scale goes between whole numbers")
            if not 2 <= self.max - self.min + 1 <= 11:
                raise ValueError("a scale has between 2 and 11 points")
            if self.emoji is not None and len(self.emoji) != int(self.max - self.min + 1):
                raise ValueError("a scale needs one emoji per point")
        if self.min_date and self.max_date and self.min_date > self.max_date:
            raise ValueError("min_date is after max_date")
        if self.rank_up_to is not None and self.options and self.rank_up_to > len(self.options):
            raise ValueError("rank_up_to is greater than the number of options")
        if self.contact_data and self.kind is not StepKind.LOCATION:
            raise ValueError("contact_data is for a location step (a contact step always is)")
        if self.allow_media and self.kind is not StepKind.TEXT:
            raise ValueError("allow_media is for a text step (photo and location steps take media)")
        if self.kind is StepKind.MESSAGE and not self.required:
            raise ValueError("a message step cannot be optional: it asks nothing")
        return self

    def texts(self) -> list[tuple[str, Text]]:
        """Every citizen-visible text of the step, labelled, for checks and extraction."""
        found: list[tuple[str, Text]] = [("text", self.text)]
        for label, value in (
            ("help", self.help),
            ("error", self.error),
            ("min_label", self.min_label),
            ("max_label", self.max_label),
        ):
            if value is not None:
                found.append((label, value))
        # A statement is shown in a message, not on a button (no button's length limit).
        noun = "statement" if self.kind is StepKind.STATEMENTS else "option"
        found.extend((f"{noun} {o.key}", o.label) for o in self.options)
        return found


class EndMessage(_Strict):
    """The closing message; the first whose `when` holds is shown."""

    id: StepId | None = None
    when: Condition | None = None
    text: Text


class FollowUp(_Strict):
    """A short dialog sent some days after completion (scheduled by outreach/)."""

    id: StepId
    after_days: int = Field(ge=0, le=3650)
    when: Condition | None = None
    steps: list[Step]


class Flow(_Strict):
    """One version of a consultation, exactly as published."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,59}$")]
    version: int = Field(ge=1)
    title: Text
    description: Text | None = None
    organisation: str = Field(min_length=1, max_length=200)
    languages: list[Annotated[str, Field(pattern=LANGUAGE_PATTERN)]] = Field(min_length=1)
    default_language: Annotated[str, Field(pattern=LANGUAGE_PATTERN)]
    opens: dt.date | None = None
    closes: dt.date | None = None
    consent: Text
    contact_consent: Text | None = None
    #: Where typed phone numbers without a country code are dialled (ISO 3166 code):
    #: "600 123 456" on a contact step is stored as "+48600123456" with "PL".
    phone_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "PL"
    #: Months after the consultation closes until its participants' personal data is
    #: deleted (konsulta/retention.py); None: the deployment's KONSULTA_RETENTION_MONTHS.
    retention_months: int | None = Field(default=None, ge=1, le=120)
    #: Why and to whom the citizen's name would be shown with their answers; asked
    #: before the first question. Without it nobody is named (exports show codes).
    name_consent: Text | None = None
    steps: list[Step] = Field(min_length=1)
    ends: list[EndMessage] = Field(min_length=1)
    followups: list[FollowUp] = Field(default_factory=list)

    #: language -> {source text -> translation}, from the flow's gettext catalogs.
    _translations: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)

    def with_translations(self, catalogs: dict[str, dict[str, str]]) -> Flow:
        """A copy that also finds texts in the given gettext catalogs."""
        copy = self.model_copy()
        copy._translations = catalogs
        return copy

    def text_for(self, text: Text, language: str) -> str | None:
        """The text in `language` if the flow has it (inline or in a catalog), else None.

        A plain string is written in the default language; a mapping may carry any
        language. Either way the default-language text is the catalog's msgid.
        """
        if isinstance(text, dict) and text.get(language):
            return text[language]
        source = text if isinstance(text, str) else text.get(self.default_language)
        if source is None:
            return None
        if language == self.default_language:
            return source
        return self._translations.get(language, {}).get(source) or None

    def localize(self, text: Text, language: str) -> str:
        """The text in `language`, falling back to the default language."""
        found = self.text_for(text, language) or self.text_for(text, self.default_language)
        if found is None:  # a mapping without the default language: any text beats none
            found = next(iter(text.values()), "") if isinstance(text, dict) else text
        return found

    @field_validator("languages")
    @classmethod
    def _unique_languages(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        return value

    @model_validator(mode="after")
    def _default_language_listed(self) -> Self:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language '{self.default_language}' is not in languages")
        if self.opens and self.closes and self.opens > self.closes:
            raise ValueError("opens is after closes")
        return self

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def step_index(self, step_id: str) -> int:
        for index, step in enumerate(self.steps):
            if step.id == step_id:
                return index
        raise KeyError(step_id)

    @property
    def questions(self) -> list[Step]:
        return [s for s in self.steps if s.is_question]

    def is_open(self, today: dt.date) -> bool:
        return (self.opens is None or self.opens <= today) and (
            self.closes is None or today <= self.closes
        )

    def flow_texts(self) -> list[tuple[str, Text]]:
        """Every citizen-visible text of the flow with where it lives, in file order."""
        found: list[tuple[str, Text]] = [("title", self.title)]
        if self.description is not None:
            found.append(("description", self.description))
        found.append(("consent", self.consent))
        if self.contact_consent is not None:
            found.append(("contact_consent", self.contact_consent))
        if self.name_consent is not None:
            found.append(("name_consent", self.name_consent))
        for step in self.steps:
            found.extend((f"{step.id}: {where}", text) for where, text in step.texts())
        for index, end in enumerate(self.ends):
            found.append((f"end {end.id or index + 1}", end.text))
        for followup in self.followups:
            for step in followup.steps:
                found.extend(
                    (f"{followup.id}.{step.id}: {where}", text) for where, text in step.texts()
                )
        return found


def parse_flow(data: Any) -> Flow:
    """Validate already-parsed YAML data into a Flow (raises pydantic.ValidationError)."""
    return Flow.model_validate(data)


__all__ = [
    "END",
    "Condition",
    "EndMessage",
    "Flow",
    "FollowUp",
    "NextRule",
    "Option",
    "Step",
    "StepKind",
    "Text",
    "parse_flow",
]
