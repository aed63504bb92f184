"""Refresh the dashboard's catalogs from the code: `python -m review.update_catalogs`.

Extracts every dashboard text (templates' `_()`, Python's `N_()`) into
locales/review.pot and merges it into locales/<lang>/LC_MESSAGES/review.po for each
dashboard language, keeping existing translations (pybabel update would do the same;
this saves remembering its flags). The public pages' other ten languages get only the
texts those pages show (`public_messages`), merged the same way.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

from konsulta.i18n import LOCALES_DIR
from review.i18n import DOMAIN, LANGUAGES, PUBLIC_LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"N_": None, "_": None, "ngettext": (1, 2)}
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
#: Modules outside review/ whose N_() texts the dashboard shows: a spreadsheet form's
#: problems, the builder's refused edits and a translator's .po problems (dialogs/ and
#: konsulta/ cannot import review/, so they mark them with their own N_).
SHOWN_FROM = [
    ROOT / "dialogs" / "xlsform.py",
    ROOT / "dialogs" / "builder.py",
    ROOT / "konsulta" / "flow_translations.py",
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
#: The templates anonymous visitors see (public_toggle.html is the staff's form).
PUBLIC_TEMPLATES = ("base", "body", "embed", "map", "missing", "results")
#: Texts review/public.py translates on those pages from code or data.
PUBLIC_TEXTS = frozenset(
    {
        "Other answers or no answer",
        "People who finished, by language",
        "yes",
        "no",
        "new",
        "in_progress",
        "resolved",
    }
)


def template() -> Catalog:
    catalog = Catalog(project="konsulta-review", fuzzy=False)
    for _file, _line, message, comments, _context in extract_from_dir(
        str(ROOT / "review"), METHODS, OPTIONS, KEYWORDS, strip_comment_tags=True
    ):
        catalog.add(message, auto_comments=comments)
    for path in SHOWN_FROM:
        for _line, message, comments, _context in extract_from_file(
            "python", str(path), KEYWORDS, strip_comment_tags=True
        ):
            catalog.add(message, auto_comments=comments)
    return catalog


def public_messages() -> set[str]:
    """The msgids (a plural's singular) the public pages show."""
    found = set(PUBLIC_TEXTS)
    for name in PUBLIC_TEMPLATES:
        path = ROOT / "review" / "templates" / f"public_{name}.html"
        for _line, message, _comments, _context in extract_from_file(
            "jinja2", str(path), KEYWORDS, options={"extensions": "jinja2.ext.i18n"}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def public_template(pot: Catalog) -> Catalog:
    """`pot` cut down to the public pages' texts."""
    wanted = public_messages()
    catalog = Catalog(project="konsulta-review", fuzzy=False)
    for message in pot:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if key in wanted:
            catalog.add(message.id, auto_comments=message.auto_comments)
    return catalog


def update(locales_dir: Path = LOCALES_DIR) -> None:
    pot = template()
    with (locales_dir / f"{DOMAIN}.pot").open("wb") as out:
        write_po(out, pot, omit_header=True, sort_output=True, no_location=True)
    public = public_template(pot)
    for language in PUBLIC_LANGUAGES:
        path = locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as existing:
                catalog = read_po(existing, locale=language)
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, fuzzy=False)
        catalog.update(pot if language in LANGUAGES else public, no_fuzzy_matching=True)
        with path.open("wb") as out:
            write_po(out, catalog, sort_output=True, no_location=True, ignore_obsolete=True)


if __name__ == "__main__":
    update()
