"""Turning what a citizen sent into a typed answer, or saying kindly what was wrong.

Each parser is a small pure function returning either `Accepted(value, display)` or a
`Problem(code, params)`; `explain` turns a problem into a hint in the citizen's
language. Keeping this apart from the engine means the rules for "what counts as a
number" live in one place and can be tested alone. Numbers and dates are read and
shown as citizens of the state's language write them (Babel's locale data: "1,5",
"12.345" in Spanish, "7 grudnia 2026", "2026. 12. 07."); with no language the plain
forms "1.5" and "7.12.2026" are used.

Answer values are JSON and this is their contract (storage and export rely on it):

=================  ==========================================================
single_choice      option key, str: ``"often"``
multiple_choice    list of option keys in flow order: ``["bus", "walk"]``
ranking            list of option keys, most important first
text               str, stripped; or ``{"voice": file_id, "duration": int|None}``;
                   with ``allow_media`` also a photo's or a location's value (below)
number             int when the step asks for whole numbers, else float
scale              int
yes_no             bool
date               ISO date str: ``"2026-12-07"``
location           ``{"lat": float, "lon": float}``, or ``{"place": str}`` typed
photo              ``{"photo": file_id}``
voice              ``{"voice": file_id, "duration": int|None}``
contact            ``{"phone": str}``, E.164 (``"+48600123456"``) when it is a valid number
(skipped)          None, with ``skipped=True`` and display ``""``
=================  ==========================================================

`display` is the answer as a person reads it (an option's label, "7.12.2026"); it is
what `{{step_id}}` shows and what reviewers see next to the value.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import get_month_names
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

from dialogs.events import (
    ContactInput,
    Event,
    LocationInput,
    MediaInput,
    TextInput,
    Translator,
)
from dialogs.render import fill
from dialogs.schema import Step, StepKind


@dataclass(frozen=True)
class Accepted:
    value: Any
    display: str


@dataclass(frozen=True)
class Problem:
    """Why an input was not accepted; `params` fill the hint (numbers, dates, counts)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


Parsed = Accepted | Problem


class Choice(NamedTuple):
    """An option as the citizen sees it: label already localized."""

    key: str
    label: str
    emoji: str | None = None


# --- numbers and dates ---------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
# "1 000" and "1 000 000" (also with no-break spaces) are one number.
_THOUSANDS = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?!\d))")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST_DATE = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})\.?")


#: Konsulta's English-speaking citizens live in Europe: "7 December 2026", not US order.
_LOCALE_OF = {"en": "en_GB"}
#: How a date is typed, per language (the example in the hint); day.month.year else.
_TYPED_DATE = {
    "sv": "{y}-{m:02}-{d:02}",
    "hu": "{y}.{m:02}.{d:02}.",
    "nl": "{d}-{m}-{y}",
    "es": "{d}/{m}/{y}",
    "it": "{d}/{m}/{y}",
    "ar": "{d}/{m}/{y}",
}
_YEAR_FIRST_DATE = re.compile(r"(\d{4})\.\s?(\d{1,2})\.\s?(\d{1,2})\.?")
_SHORT_YEAR_DATE = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2})\.?")
_DAY = re.compile(r"(?<!\d)(\d{1,2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
#: Direction marks Telegram keyboards and Babel's Arabic formats put into numbers.
_MARKS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u2066\u2067\u2068\u2069"), None)


@cache
def _locale(language: str | None) -> Locale | None:
    if not language:
        return None
    try:
        return Locale.parse(_LOCALE_OF.get(language, language))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def _ascii_digits(text: str) -> str:
    """ "١٢٫٥" -> "12.5": any script's digits (Arabic-Indic, Persian...) as ASCII."""
    text = text.translate(_MARKS).replace("\u066b", ".").replace("\u066c", "\u00a0")
    return "".join(
        str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() else c for c in text
    )


def format_number(value: float, language: str | None = None) -> str:
    """A number as citizens of `language` write it: "1,5" in Polish, "1.5" in English."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    locale = _locale(language)
    if locale is None or not math.isfinite(value) or abs(value) >= 1e15:
        # Past 1e15 a float has no exact digits to group, and Babel's quantize
        # overflows the decimal context (1e25 raised InvalidOperation).
        return str(value)
    return format_decimal(value, locale=locale, decimal_quantization=False)


def format_date(value: dt.date, language: str | None = None) -> str:
    """A date as citizens of `language` read it ("7 grudnia 2026"); "7.12.2026" else."""
    locale = _locale(language)
    if locale is None:
        return f"{value.day}.{value.month}.{value.year}"
    return babel_format_date(value, "long", locale=locale)


def typed_date(value: dt.date, language: str | None = None) -> str:
    """A date as a citizen of `language` would type it: the example in hints."""
    pattern = _TYPED_DATE.get(language or "", "{d}.{m}.{y}")
    return pattern.format(d=value.day, m=value.month, y=value.year)


def _localized_number(cleaned: str, language: str | None) -> str:
    """ "12.345,5" (Spanish) -> "12345.5"; left alone unless it is clearly grouped in
    `language`'s way, so "1.5" typed by anyone is still one and a half."""
    locale = _locale(language)
    if locale is None:
        return cleaned
    group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
    if group not in {".", ","} or decimal not in {".", ","} or group == decimal:
        return cleaned
    g, d = re.escape(group), re.escape(decimal)
    if re.fullmatch(rf"[+-]?\d{{1,3}}(?:{g}\d{{3}})+(?:{d}\d+)?", cleaned):
        return cleaned.replace(group, "").replace(decimal, ".")
    return cleaned


@cache
def _months(language: str) -> tuple[tuple[str, int], ...]:
    """Month names of `language`, every form Babel knows, longest first."""
    locale = _locale(language)
    if locale is None:
        return ()
    names: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, context, locale).items():
                names.setdefault(name.lower().strip("."), number)
    return tuple(sorted(names.items(), key=lambda item: -len(item[0])))


def _date_in_words(text: str, language: str | None) -> tuple[str, str, str] | None:
    """ "7 grudnia 2026", "2026. december 7.", "7 de diciembre de 2026"."""
    if not language:
        return None
    lowered = text.lower()
    for name, number in _months(language):
        found = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", lowered)
        if not found:
            continue
        rest = lowered[: found.start()] + " " + lowered[found.end() :]
        year, day = _YEAR.search(rest), None
        if year is not None:
            rest = rest[: year.start()] + " " + rest[year.end() :]
            day = _DAY.search(rest)
        if year is None or day is None or len(_DAY.findall(rest)) != 1:
            return None
        return year.group(1), str(number), day.group(1)
    return None


def parse_number(
    text: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = True,
    language: str | None = None,
) -> Parsed:
    """Accept "12", "-3", "1,5", "1.5", "1 000"; respect bounds and whole numbers.

    A number inside a short phrase ("30 lat", "about 30", "٣٠ سنة") is taken when it is
    the phrase's only number and the rest is words."""
    problem = Problem("number", {"min": minimum, "max": maximum, "integer": integer})
    cleaned = _ascii_digits(text.strip().replace("\u2212", "-"))
    cleaned = _localized_number(_THOUSANDS.sub("", cleaned), language)
    if not _NUMBER.fullmatch(cleaned):
        cleaned = _number_in_phrase(cleaned) or cleaned
    if len(cleaned) > 30 or not _NUMBER.fullmatch(cleaned):
        return problem
    number: int | float
    if cleaned.isdecimal() or cleaned[1:].isdecimal():
        number = int(cleaned)
    else:
        number = float(cleaned.replace(",", "."))
        if integer and number.is_integer():
            number = int(number)
    if integer and not isinstance(number, int):
        return problem
    if not integer:
        number = float(number)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        return problem
    return Accepted(number, format_number(number, language))


#: At most this many words around a number in a phrase ("mam 30 lat" is three).
_PHRASE_WORDS = 5


def _number_in_phrase(text: str) -> str | None:
    """The one number in a short phrase of words, or None when there are several
    numbers, other digits, or too many words to be sure."""
    words = text.split()
    if len(words) > _PHRASE_WORDS:
        return None
    numbers = [w.strip(".,!?;:()") for w in words if any(c.isdigit() for c in w)]
    if len(numbers) != 1 or not _NUMBER.fullmatch(numbers[0]):
        return None
    others = [w for w in words if not any(c.isdigit() for c in w)]
    if not all(any(c.isalpha() for c in w) for w in others):
        return None
    return numbers[0]


def parse_date(
    text: str,
    *,
    earliest: dt.date | None = None,
    latest: dt.date | None = None,
    language: str | None = None,
) -> Parsed:
    """Accept "7.12.2026", "07/12/2026" (day first) and "2026-12-07"; respect bounds."""
    problem = Problem("date", {"earliest": earliest, "latest": latest, "language": language})
    cleaned = _ascii_digits(text.strip())
    if match := _ISO_DATE.fullmatch(cleaned):
        year, month, day = match.groups()
    elif match := _DAY_FIRST_DATE.fullmatch(cleaned):
        day, month, year = match.groups()
    elif language and (match := _YEAR_FIRST_DATE.fullmatch(cleaned)):
        year, month, day = match.groups()
    elif language and (match := _SHORT_YEAR_DATE.fullmatch(cleaned)):
        day, month, short_year = match.groups()
        year = str(2000 + int(short_year))
    elif words := _date_in_words(cleaned, language):
        year, month, day = words
    else:
        return problem
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return problem
    if (earliest is not None and date < earliest) or (latest is not None and date > latest):
        return problem
    return Accepted(date.isoformat(), format_date(date, language))


# --- text and media ------------------------------------------------------------------


def parse_text(
    text: str,
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    voice: bool = False,
) -> Parsed:
    """Stripped non-empty text within the length limits (`voice` only shapes the hint)."""
    cleaned = text.strip()
    if not cleaned:
        return Problem("text", {"voice": voice})
    if min_length is not None and len(cleaned) < min_length:
        return Problem("text_short", {"n": min_length})
    if max_length is not None and len(cleaned) > max_length:
        return Problem("text_long", {"n": max_length})
    return Accepted(cleaned, cleaned)


def voice_answer(file_id: str, duration: int | None, texts: Translator) -> Accepted:
    return Accepted({"voice": file_id, "duration": duration}, texts.gettext("Voice note"))


def photo_answer(file_id: str, texts: Translator) -> Accepted:
    return Accepted({"photo": file_id}, texts.gettext("Photo"))


def location_answer(latitude: float, longitude: float, *, typed: bool = True) -> Parsed:
    """A point on Earth; NaN, infinities and out-of-range coordinates are refused."""
    if not (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and -90 <= latitude <= 90
        and -180 <= longitude <= 180
    ):
        return Problem("location", {"typed": typed})
    lat, lon = float(latitude), float(longitude)
    return Accepted({"lat": lat, "lon": lon}, f"{lat:.5f}, {lon:.5f}")


def parse_place(text: str) -> Parsed:
    """A place typed by name instead of a shared location."""
    cleaned = text.strip()
    if not cleaned:
        return Problem("location", {"typed": True})
    return Accepted({"place": cleaned}, cleaned)


#: Where a number typed without a country code is dialled when the flow says nothing.
DEFAULT_PHONE_REGION = "PL"
#: Longer than any phone number, however it is spaced (E.164 has at most 15 digits).
_MAX_PHONE_TEXT = 40


def _e164(text: str, region: str | None) -> str | None:
    """`text` as an E.164 number if it is a valid one (dialled from `region`)."""
    if len(text) > _MAX_PHONE_TEXT:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_answer(phone: str, *, own: bool) -> Parsed:
    """Only the citizen's own number: a forwarded contact card is someone else's data.

    Telegram shares the number it verified, often without the "+" ("48600123456"):
    stored in E.164 when it reads as a valid international number, else as it came.
    """
    cleaned = phone.strip()
    if not own or not cleaned:
        return Problem("contact")
    international = cleaned if cleaned.startswith("+") else f"+{cleaned}"
    normalised = _e164(international, None) or cleaned
    return Accepted({"phone": normalised}, normalised)


def parse_phone(text: str, *, region: str = DEFAULT_PHONE_REGION) -> Parsed:
    """A phone number typed instead of shared: "600 123 456", "+48 600-123-456" or
    "0048600123456" with region PL are all "+48600123456"; anything that is not a
    valid number for its country is refused with an example of the region's form."""
    normalised = _e164(text.strip(), region)
    if normalised is None:
        return Problem("phone", {"example": phone_example(region)})
    return Accepted({"phone": normalised}, normalised)


@cache
def phone_example(region: str) -> str:
    """A mobile number of `region` as people there write it ("512 345 678" in PL)."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        return ""
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def is_region(region: str) -> bool:
    """Whether phone numbers of `region` (ISO 3166 code) can be read."""
    return region in phonenumbers.SUPPORTED_REGIONS


# --- choices -------------------------------------------------------------------------


#: Every dash a keyboard or a label may hold, typed as a plain hyphen.
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")
#: Letters that Unicode does not decompose but people type without their stroke.
_PLAIN = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŀ": "l"})


def fold(text: str) -> str:
    """Text as compared with a label: case, diacritics, dashes, spacing and closing
    punctuation folded, so "z rodzina", "75-84" and "Tak!" match "Z rodziną",
    "75–84" and "tak". Both sides are folded alike, so any script works."""
    text = text.translate(_MARKS).translate(_DASHES).casefold().translate(_PLAIN)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.casefold()  # NFKD may bring back capitals: "ᴬ" decomposes to "A"
    text = re.sub(r"\s*-\s*", "-", text)
    return " ".join(text.split()).strip(".!?¡¿;:،؟。 ")


def is_label(text: str, label: str) -> bool:
    """Whether `text` is `label` typed back (or sent by a reply keyboard's button)."""
    wanted = fold(text)
    return bool(wanted) and wanted == fold(label)


def match_option(text: str, choices: Sequence[Choice]) -> str | None:
    """The key of the option whose label (with or without emoji) or number was typed."""
    wanted = fold(text)
    if not wanted:
        return None
    for choice in choices:
        labels = {fold(choice.label), fold(f"{choice.emoji} {choice.label}")}
        if wanted in labels:
            return choice.key
    if wanted.isdecimal() and len(wanted) <= 3 and 1 <= int(wanted) <= len(choices):
        return choices[int(wanted) - 1].key
    return None


def _typed_picks(text: str, choices: Sequence[Choice]) -> list[str] | None:
    """Keys for "1,3", "1 3" or "Bus, Walk"; None if any part is not an option."""
    keys: list[str] = []
    for chunk in re.split(r"[,;]", text):
        if not chunk.strip():
            continue
        key = match_option(chunk, choices)
        if key is not None:
            keys.append(key)
            continue
        for word in chunk.split():
            key = match_option(word, choices)
            if key is None:
                return None
            keys.append(key)
    return keys or None


def label_of(key: str, choices: Sequence[Choice]) -> str:
    return next((c.label for c in choices if c.key == key), key)


def parse_single_choice(text: str, choices: Sequence[Choice]) -> Parsed:
    key = match_option(text, choices)
    if key is None:
        return Problem("choice")
    return Accepted(key, label_of(key, choices))


def check_picks(
    keys: Sequence[str], choices: Sequence[Choice], *, min_picks: int, max_picks: int | None
) -> Parsed:
    """A multiple-choice answer from the picked keys, in flow order, within the limits."""
    picked = [c.key for c in choices if c.key in keys]
    if len(picked) < min_picks:
        return Problem("picks_min", {"n": min_picks})
    if max_picks is not None and len(picked) > max_picks:
        return Problem("picks_max", {"n": max_picks})
    return Accepted(picked, ", ".join(label_of(k, choices) for k in picked))


def parse_multiple_choice(
    text: str, choices: Sequence[Choice], *, min_picks: int, max_picks: int | None
) -> Parsed:
    keys = _typed_picks(text, choices)
    if keys is None:
        return Problem("picks")
    return check_picks(keys, choices, min_picks=min_picks, max_picks=max_picks)


def finish_ranking(order: Sequence[str], choices: Sequence[Choice], up_to: int) -> Parsed | None:
    """The ranking answer once `up_to` options are ranked, else None (keep asking).

    When everything is to be ranked the last option needs no tap of its own.
    """
    ranked = [key for key in dict.fromkeys(order) if any(c.key == key for c in choices)]
    if up_to >= len(choices) and len(ranked) == len(choices) - 1:
        ranked += [c.key for c in choices if c.key not in ranked]
    if len(ranked) < up_to:
        return None
    ranked = ranked[:up_to]
    display = ", ".join(f"{rank}. {label_of(key, choices)}" for rank, key in enumerate(ranked, 1))
    return Accepted(ranked, display)


def parse_ranking(text: str, choices: Sequence[Choice], *, up_to: int) -> Parsed:
    """A typed order such as "3,1,2": distinct options, as many as asked for."""
    keys = _typed_picks(text, choices)
    if keys is None or len(set(keys)) != len(keys) or len(keys) > up_to:
        return Problem("ranking")
    return finish_ranking(keys, choices, up_to) or Problem("ranking")


def parse_scale(text: str, *, minimum: int, maximum: int) -> Parsed:
    parsed = parse_number(text, minimum=minimum, maximum=maximum, integer=True)
    if isinstance(parsed, Problem):
        return Problem("scale", {"min": minimum, "max": maximum})
    return parsed


def yes_no_answer(flag: bool, texts: Translator) -> Accepted:
    return Accepted(flag, texts.gettext("Yes") if flag else texts.gettext("No"))


def parse_yes_no(text: str, texts: Translator) -> Parsed:
    """Yes/no typed in the citizen's language, in English, or as 1/2 (button order)."""
    word = fold(text)
    if word in {fold(texts.gettext("yes")), "yes", "y", "1"}:
        return yes_no_answer(True, texts)
    if word in {fold(texts.gettext("no")), "no", "n", "2"}:
        return yes_no_answer(False, texts)
    return Problem("yes_no")


# --- words instead of commands --------------------------------------------------------


class WordCommand(StrEnum):
    """The commands a citizen may type as a plain word mid-question ("pomocy", "back")."""

    HELP = "help"
    STOP = "stop"
    BACK = "back"
    SKIP = "skip"


#: Question marks of the scripts Konsulta writes: a message of only these asks for help.
_QUESTION_MARKS = frozenset("?？؟¿")


def command_words(texts: Translator) -> dict[WordCommand, frozenset[str]]:
    """The words of one catalog, folded. They live in the catalogs, so translators
    own them: each msgid's translation is a comma-separated list."""
    lists = {
        # TRANSLATORS: Words a citizen may type instead of /help in the middle of a
        # question, separated by commas (a few words each, no slash; case and
        # diacritics do not matter). Include what people really type, e.g. "pomocy".
        WordCommand.HELP: ("help-words", texts.gettext("help-words")),
        # TRANSLATORS: Words a citizen may type instead of /stop (no more messages),
        # separated by commas; case and diacritics do not matter.
        WordCommand.STOP: ("stop-words", texts.gettext("stop-words")),
        # TRANSLATORS: Words a citizen may type instead of /back (the previous
        # question), separated by commas; case and diacritics do not matter.
        WordCommand.BACK: ("back-words", texts.gettext("back-words")),
        # TRANSLATORS: Words a citizen may type instead of /skip (skip this question),
        # separated by commas; case and diacritics do not matter.
        WordCommand.SKIP: ("skip-words", texts.gettext("skip-words")),
    }
    return dict(_folded_words(tuple((c, m, t) for c, (m, t) in lists.items())))


@cache  # one entry per catalog (language and register): a bounded set
def _folded_words(
    lists: tuple[tuple[WordCommand, str, str], ...],
) -> tuple[tuple[WordCommand, frozenset[str]], ...]:
    """The folded words of each command: folding is the costly part and the catalogs
    do not change while the process runs, so each catalog's words are folded once
    (every typed answer asks)."""
    words: list[tuple[WordCommand, frozenset[str]]] = []
    for command, msgid, translated in lists:
        # No catalog (gettext returns the msgid): no words rather than "help-words".
        found = () if translated == msgid else re.split(r"[,،]", translated)
        words.append((command, frozenset(filter(None, map(fold, found)))))
    return tuple(words)


def word_command(
    text: str,
    step: Step | None,
    choices: Sequence[Choice],
    catalogs: Iterable[Translator],
) -> WordCommand | None:
    """The command a typed message means, if it is one of the catalogs' words.

    Only the whole message counts ("stop", "Pomocy!", "go back"), never a word inside
    a longer answer. On a free-text question only a single word does: a phrase there
    ("stop kradzieżom", even "wypisz mnie") is the answer. An option whose label is
    such a word (an option "Pomoc") stays an answer. A message of only question marks
    ("?", "؟") asks for help everywhere.
    """
    stripped = "".join(text.split())
    if stripped and set(stripped) <= _QUESTION_MARKS:
        return WordCommand.HELP
    wanted = fold(text)
    if not wanted:
        return None
    if step is not None and step.kind is StepKind.TEXT and " " in wanted:
        return None
    if choices and match_option(text, choices) is not None:
        return None
    for texts in catalogs:
        for command, words in command_words(texts).items():
            if wanted in words:
                return command
    return None


# --- one event for one step ----------------------------------------------------------


def min_picks(step: Step) -> int:
    """Required multiple choice without `min_picks` means at least one."""
    if step.min_picks is not None:
        return step.min_picks
    return 1 if step.required else 0


def rank_up_to(step: Step) -> int:
    return step.rank_up_to or len(step.options)


def expected(step: Step, language: str | None = None) -> Problem:
    """The problem to explain when an input of the wrong sort arrives for `step`."""
    match step.kind:
        case StepKind.NUMBER:
            return Problem("number", {"min": step.min, "max": step.max, "integer": step.integer})
        case StepKind.SCALE:
            return Problem("scale", {"min": int(step.min or 0), "max": int(step.max or 0)})
        case StepKind.DATE:
            params = {"earliest": step.min_date, "latest": step.max_date, "language": language}
            return Problem("date", params)
        case StepKind.TEXT:
            return Problem("text", {"voice": step.allow_voice})
        case StepKind.LOCATION:
            return Problem("location", {"typed": step.allow_typed})
        case StepKind.MULTIPLE_CHOICE:
            return Problem("picks")
        case _:
            return Problem(step.kind.value)


def interpret(
    step: Step,
    event: Event,
    choices: Sequence[Choice],
    texts: Translator,
    language: str,
    *,
    phone_region: str = DEFAULT_PHONE_REGION,
) -> Parsed:
    """Typed, sent or shared input (not button presses) as an answer to `step`;
    `phone_region` is where a typed phone number without a country code is dialled."""
    kind = step.kind
    if isinstance(event, TextInput):
        text = event.text
        match kind:
            case StepKind.TEXT:
                return parse_text(
                    text,
                    min_length=step.min_length,
                    max_length=step.max_length,
                    voice=step.allow_voice,
                )
            case StepKind.NUMBER:
                return parse_number(
                    text,
                    minimum=step.min,
                    maximum=step.max,
                    integer=step.integer,
                    language=language,
                )
            case StepKind.SCALE:
                return parse_scale(text, minimum=int(step.min or 0), maximum=int(step.max or 0))
            case StepKind.YES_NO:
                return parse_yes_no(text, texts)
            case StepKind.DATE:
                return parse_date(
                    text, earliest=step.min_date, latest=step.max_date, language=language
                )
            case StepKind.SINGLE_CHOICE:
                return parse_single_choice(text, choices)
            case StepKind.MULTIPLE_CHOICE:
                return parse_multiple_choice(
                    text, choices, min_picks=min_picks(step), max_picks=step.max_picks
                )
            case StepKind.RANKING:
                return parse_ranking(text, choices, up_to=rank_up_to(step))
            case StepKind.LOCATION if step.allow_typed:
                return parse_place(text)
            case StepKind.CONTACT:
                return parse_phone(text, region=phone_region)
    elif isinstance(event, MediaInput):
        if event.kind == "voice" and (
            kind is StepKind.VOICE or (kind is StepKind.TEXT and step.allow_voice)
        ):
            return voice_answer(event.file_id, event.duration, texts)
        if event.kind == "photo" and (
            kind is StepKind.PHOTO or (kind is StepKind.TEXT and step.allow_media)
        ):
            return photo_answer(event.file_id, texts)
    elif isinstance(event, LocationInput) and kind is StepKind.LOCATION:
        return location_answer(event.latitude, event.longitude, typed=step.allow_typed)
    elif isinstance(event, LocationInput) and kind is StepKind.TEXT and step.allow_media:
        shown = location_answer(event.latitude, event.longitude, typed=False)
        if isinstance(shown, Accepted):  # a broken point gets the text question's hint
            return shown
    elif isinstance(event, ContactInput) and kind is StepKind.CONTACT:
        return contact_answer(event.phone, own=event.own)
    return expected(step, language)


# --- hints ---------------------------------------------------------------------------


def _number_hint(params: dict[str, Any], texts: Translator) -> str:
    low, high = params.get("min"), params.get("max")
    whole = bool(params.get("integer"))
    if low is not None and high is not None:
        template = (
            texts.gettext("Please send a whole number between {min} and {max}.")
            if whole
            else texts.gettext("Please send a number between {min} and {max}.")
        )
    elif low is not None:
        template = (
            texts.gettext("Please send a whole number of at least {min}.")
            if whole
            else texts.gettext("Please send a number of at least {min}.")
        )
    elif high is not None:
        template = (
            texts.gettext("Please send a whole number no greater than {max}.")
            if whole
            else texts.gettext("Please send a number no greater than {max}.")
        )
    else:
        template = (
            texts.gettext("Please send a whole number, for example 12.")
            if whole
            else texts.gettext("Please send a number, for example 12.")
        )
    return fill(
        template,
        min="" if low is None else format_number(low),
        max="" if high is None else format_number(high),
    )


_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def _date_hint(params: dict[str, Any], texts: Translator) -> str:
    language = params.get("language")
    earliest, latest = params.get("earliest"), params.get("latest")
    if earliest is not None and latest is not None:
        template = texts.gettext(
            "Please send a date between {earliest} and {latest}, for example {example}."
        )
    elif earliest is not None:
        template = texts.gettext(
            "Please send a date on or after {earliest}, for example {example}."
        )
    elif latest is not None:
        template = texts.gettext("Please send a date on or before {latest}, for example {example}.")
    else:
        template = texts.gettext("Please send a date as day.month.year, for example {example}.")
    # the example is typed the citizen's way and lies within the bounds
    example = dt.date(2026, 12, 31)
    if earliest is not None and example < earliest:
        example = earliest
    if latest is not None and example > latest:
        example = latest
    hint = fill(
        template,
        earliest="" if earliest is None else format_date(earliest, language),
        latest="" if latest is None else format_date(latest, language),
        example=typed_date(example, language),
    )
    # "1 січня 2000 р." or "2026.12.31." (Hungarian) at the end of a sentence: one full stop
    return _DOUBLE_STOP.sub(".", hint)


def explain(problem: Problem, texts: Translator) -> str:
    """A short, plain hint for `problem` in the citizen's language."""
    params = problem.params
    n = int(params.get("n", 0))
    match problem.code:
        case "number":
            return _number_hint(params, texts)
        case "date":
            return _date_hint(params, texts)
        case "scale":
            return fill(
                texts.gettext("Please choose a number from {min} to {max}."),
                min=params.get("min", ""),
                max=params.get("max", ""),
            )
        case "text" if params.get("voice"):
            return texts.gettext("Please type your answer as text, or send a voice note.")
        case "text":
            return texts.gettext("Please type your answer as text.")
        case "text_short":
            return fill(
                texts.ngettext(
                    "Please write at least {n} character.",
                    "Please write at least {n} characters.",
                    n,
                ),
                n=n,
            )
        case "text_long":
            return fill(
                texts.ngettext(
                    "Please keep your answer to {n} character or fewer.",
                    "Please keep your answer to {n} characters or fewer.",
                    n,
                ),
                n=n,
            )
        case "picks":
            return fill(
                texts.gettext("Please tap the options that apply, then tap “{done}”."),
                done=texts.gettext("Done"),
            )
        case "picks_min":
            return fill(
                texts.ngettext(
                    "Please choose at least {n} option.", "Please choose at least {n} options.", n
                ),
                n=n,
            )
        case "picks_max":
            return fill(
                texts.ngettext(
                    "Please choose no more than {n} option.",
                    "Please choose no more than {n} options.",
                    n,
                ),
                n=n,
            )
        case "ranking":
            return texts.gettext(
                "Please tap the options in order of importance, the most important first."
            )
        case "yes_no":
            return texts.gettext("Please answer yes or no with the buttons below.")
        case "location" if params.get("typed"):
            return texts.gettext(
                "Please share your location with the button below, or type the name of the place."
            )
        case "location":
            return texts.gettext("Please share your location with the button below.")
        case "photo":
            return texts.gettext("Please send a photo.")
        case "voice":
            return texts.gettext("Please send a voice note: hold the microphone button and speak.")
        case "contact":
            return texts.gettext("Please share your own phone number with the button below.")
        case "phone" if params.get("example"):
            return fill(
                texts.gettext(
                    "That does not look like a phone number. Please type it like {example}, "
                    "or share it with the button below."
                ),
                example=params["example"],
            )
        case "phone":
            return texts.gettext(
                "That does not look like a phone number. Please type it again, "
                "or share it with the button below."
            )
        case _:
            return texts.gettext("Please choose one of the buttons below.")
