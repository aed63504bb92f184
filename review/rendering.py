"""Pages from templates: the staff's language, flash notes, CSRF token, safe redirects.

Every route module renders through here, so a page is always in the staff member's
language and always carries the form token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from konsulta.public_results import PUBLIC_KINDS
from review import i18n
from review.security import Staff, csrf_token

HERE = Path(__file__).resolve().parent


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.filters["language_name"] = lambda code: i18n.language_name(
        str(code), i18n.current_language()
    )
    env.filters["svg"] = Markup  # charts are built from escaped parts in review.charts
    env.filters["percent"] = lambda v: "—" if v is None else f"{100 * v:.0f}%"
    env.globals["public_kinds"] = PUBLIC_KINDS  # the consultation page's publish form
    env.filters["when"] = lambda v: v.strftime("%Y-%m-%d %H:%M") if v else "—"
    return env


def language_of(request: Request, staff: Staff | None) -> str:
    chosen = request.session.get("lang")
    if isinstance(chosen, str) and chosen in i18n.LANGUAGES:
        return chosen
    if staff is not None and staff.language in i18n.LANGUAGES:
        return staff.language
    default = request.app.state.dashboard.app.settings.default_language
    return i18n.pick_language(request.headers.get("accept-language"), default)


def flash(request: Request, message: str, **params: Any) -> None:
    """A note for the next page (`message` is an N_() msgid, translated when shown)."""
    # Assigned, not appended in place: the session cookie is written again only when
    # the session itself is set, so a second note before a page shows would be lost.
    request.session["flash"] = [*request.session.get("flash", []), [message, params]]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    staff: Staff | None = getattr(request.state, "staff", None)
    language = language_of(request, staff)
    i18n.use_language(language)
    notes = request.session.pop("flash", [])
    html = request.app.state.dashboard.templates.get_template(template).render(
        request=request,
        staff=staff,
        language=language,
        languages=i18n.LANGUAGES,
        csrf=csrf_token(request),
        notes=notes,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def csv_download(body: str | bytes, name: str) -> Response:
    """A CSV file the browser saves as `name` (the dashboard's small exports; the
    answers export streams instead)."""
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def safe_next(target: str | None) -> str:
    """Only same-site paths after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/consultations"
    parsed = urlparse(target)
    return parsed.path if not parsed.netloc else "/consultations"
