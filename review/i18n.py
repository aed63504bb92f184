"""The dashboard's own texts in Polish and English (the `review` gettext domain), and
the public results pages' texts in all twelve languages.

Staff-facing texts live in `locales/<lang>/LC_MESSAGES/review.po`, apart from the
bot's citizen-facing `konsulta.po`: a translator of the bot never has to wade through
dashboard jargon. Templates call `_()` / `ngettext()` (Jinja's i18n extension);
Python code marks texts with `N_()` and the template translates them when shown.

The logged-in dashboard speaks only `LANGUAGES`. The public pages (no login) speak
every language in `PUBLIC_LANGUAGES`: the other ten `review.po` catalogs hold only the
texts those pages show (`review.update_catalogs.public_messages`); any other dashboard
text stays English there.

Extract with:
    pybabel extract -F review/babel.cfg --no-default-keywords -k N_ -k _ -k ngettext:1,2 \
        -o locales/review.pot review
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

from konsulta.catalogs import LANGUAGES as CITIZEN_LANGUAGES
from konsulta.i18n import LOCALES_DIR, compile_catalogs

DOMAIN = "review"
#: The dashboard's languages; the first is used when nothing else says.
LANGUAGES = ("pl", "en")
#: The public pages' languages: every language the bot speaks.
PUBLIC_LANGUAGES: tuple[str, ...] = CITIZEN_LANGUAGES

_current: ContextVar[NullTranslations] = ContextVar("review_translations")
_current_code: ContextVar[str] = ContextVar("review_language")


def N_(message: str) -> str:
    """Mark a dashboard text for extraction; it is translated where it is shown."""
    return message


@cache
def translations(language: str) -> NullTranslations:
    """The dashboard catalog for `language` (English msgids when there is none)."""
    compile_catalogs(LOCALES_DIR, DOMAIN)
    found = Translations.load(str(LOCALES_DIR), [language], DOMAIN)
    return found


def use_language(language: str, spoken: tuple[str, ...] = LANGUAGES) -> None:
    """Translate the texts rendered from now on (in this task) into `language`, one of
    `spoken` (the dashboard's languages unless a public page says otherwise)."""
    code = language if language in spoken else LANGUAGES[0]
    _current.set(translations(code))
    _current_code.set(code)


def current_language() -> str:
    """The dashboard language texts are rendered in now (in this task)."""
    return _current_code.get(LANGUAGES[0])


@cache
def language_name(code: str, in_language: str) -> str:
    """A citizen's language as staff read it: "uk" -> "ukraiński" in Polish,
    "Ukrainian" in English (Babel's CLDR names); an unknown code stays as it is."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(in_language)
    except (ValueError, UnknownLocaleError):
        return code
    return name or code


def gettext(message: str) -> str:
    return _current.get(translations(LANGUAGES[0])).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get(translations(LANGUAGES[0])).ngettext(singular, plural, n)


def pick_language(accept_language: str | None, default: str) -> str:
    """The first dashboard language in an Accept-Language header, else `default`."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return code
    return default if default in LANGUAGES else LANGUAGES[0]


#: Texts the templates translate from data (statuses, roles, marks), listed here so
#: extraction finds them.
DATA_TEXTS = (
    N_("draft"),
    N_("open"),
    N_("closed"),
    N_("platform"),
    N_("admin"),
    N_("staff"),
    N_("viewer"),
    N_("need"),
    N_("complaint"),
    N_("idea"),
    N_("new"),
    N_("in_progress"),
    N_("resolved"),
    N_("yes"),
    N_("no"),
    N_("broadcast"),
    N_("result"),
    N_("scheduled"),
    N_("running"),
    N_("done"),
    N_("cancelled"),
    N_("pending"),
    N_("queued"),
    N_("sent"),
    N_("failed"),
    N_("blocked"),
    N_("skipped"),
    N_("started"),
    N_("completed"),
    N_("abandoned"),
    N_("Yes"),
    N_("No"),
)
