"""The staff dashboard as an ASGI app (Starlette), server-rendered with Jinja2.

`create_web_app(app)` wires the routes to one `konsulta.bootstrap.App` (database, catalogs,
flows), so the dashboard, the bot and the tests share one way of reaching services.
`konsulta web` serves it with uvicorn; `web_app_from_settings` builds the `App` in the
ASGI lifespan for that.

No front-end build and no CDN: the pages are HTML forms, charts are inline SVG from
`review.charts`, and the one small script (`static/dashboard.js`) is served here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from konsulta.bootstrap import App, build_app
from konsulta.settings import Settings
from review import (
    account,
    admin,
    broadcasts,
    builder,
    health,
    i18n,
    leaders,
    links,
    moderation,
    open311,
    opinions,
    pages,
    partners,
    providers,
    public,
    roadmap,
    translations,
)
from review.dashboard import Dashboard
from review.i18n import N_
from review.rendering import make_templates, render, safe_next
from review.security import (
    LoginOutcome,
    authenticate,
    checked_form,
    current_staff,
    open_session,
)
from review.stats_cache import StatsCache
from storage.types import utcnow

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "konsulta_session"


# --- login, logout, language ------------------------------------------------------------


async def home(request: Request) -> Response:
    return RedirectResponse("/consultations", status_code=303)


async def login_page(request: Request) -> Response:
    if await current_staff(request) is not None:
        return RedirectResponse("/consultations", status_code=303)
    return render(request, "login.html", next=safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    form = await checked_form(request)
    email = str(form.get("email") or "").strip().lower()[:254]
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    dashboard: Dashboard = request.app.state.dashboard
    settings = dashboard.app.settings
    async with dashboard.app.uow() as uow:
        outcome, user = await authenticate(
            uow,
            email,
            password,
            now=dashboard.clock(),
            max_failures=settings.login_max_failures,
            lockout=timedelta(minutes=settings.login_lockout_minutes),
            address=request.client.host if request.client else None,
            max_address_failures=settings.login_max_failures_per_address,
        )
        token = ""
        if outcome is LoginOutcome.OK and user is not None:
            token = await open_session(uow, dashboard, user.id)
        if user is not None:
            await uow.audit.add(
                "login",
                email=user.email,
                staff_user_id=user.id,
                organisation_id=user.organisation_id,
            )
        await uow.commit()
    if outcome is LoginOutcome.OK and user is not None:
        keep = {"lang": request.session.get("lang")}
        request.session.clear()  # a fresh session (and CSRF token) on every login
        request.session.update({k: v for k, v in keep.items() if v})
        request.session["sid"] = token
        return RedirectResponse(target, status_code=303)
    error = (
        N_("Too many failed attempts. This account is locked for a while; try again later.")
        if outcome is LoginOutcome.LOCKED
        else N_("Wrong e-mail or password.")
    )
    return render(request, "login.html", status_code=401, error=error, email=email, next=target)


async def logout(request: Request) -> Response:
    await checked_form(request)
    token = request.session.get("sid")
    if isinstance(token, str):  # the server forgets it: a copied cookie stops working too
        dashboard: Dashboard = request.app.state.dashboard
        async with dashboard.app.uow() as uow:
            await uow.staff_sessions.revoke(token, now=dashboard.clock())
            await uow.commit()
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def set_language(request: Request) -> Response:
    form = await checked_form(request)
    language = str(form.get("language") or "")
    if language in i18n.LANGUAGES:
        request.session["lang"] = language
        staff = await current_staff(request)
        if staff is not None:
            dashboard: Dashboard = request.app.state.dashboard
            async with dashboard.app.uow() as uow:
                user = await uow.staff.get(staff.id)
                if user is not None:
                    user.language = language
                await uow.commit()
    return RedirectResponse(safe_next(str(form.get("back") or "")), status_code=303)


async def error_page(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    request.state.staff = await current_staff(request)
    return render(request, "error.html", status_code=code, code=code)


def routes() -> list[BaseRoute]:
    return [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/language", set_language, methods=["POST"]),
        *pages.routes(),
        *admin.routes(),
        *builder.routes(),
        *translations.routes(),
        *account.routes(),
        *broadcasts.routes(),
        *leaders.routes(),
        *public.routes(),
        *roadmap.routes(),
        *links.routes(),
        *moderation.routes(),
        *opinions.routes(),
        *providers.routes(),
        *partners.routes(),
        *open311.routes(),
        *health.routes(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


#: Everything the pages load is the dashboard's own; no framing, no sniffing.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


#: Over HTTPS, browsers are told to use nothing else for a year.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def embed_headers(ancestors: str) -> list[tuple[bytes, bytes]]:
    """The public widget's headers: framed by `ancestors` (KONSULTA_PUBLIC_EMBED_ANCESTORS),
    so no X-Frame-Options; the rest as strict as everywhere else."""
    csp = SECURITY_HEADERS[0][1].replace(
        b"frame-ancestors 'none'", b"frame-ancestors " + ancestors.encode("ascii")
    )
    return [(b"content-security-policy", csp), *SECURITY_HEADERS[1:3]]


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every response (a plain ASGI wrapper, so streamed
    exports stream unchanged). Every page but the static files and the public results
    holds personal data, so none may be kept by a browser or a proxy:
    `cache-control: no-store`. A public results page keeps the Cache-Control it set
    (`review.public`: none set means no-store); only its `/embed` may be framed."""

    def __init__(self, app: Any, https: bool = False, embed_ancestors: str = "*") -> None:
        self.app = app
        self.https = https
        self.embed = embed_headers(embed_ancestors)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        static = path.startswith("/static/")
        public_page = path.startswith(public.PUBLIC_PREFIXES)
        own_cache = static or public_page
        framed = public_page and path.endswith(public.EMBED_PATH)
        extra = [*(self.embed if framed else SECURITY_HEADERS), *([HSTS] if self.https else [])]

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if own_cache or name.lower() != b"cache-control"
                ]
                if public_page:  # a cacheable page must not carry a staff session cookie
                    headers = [(n, v) for n, v in headers if n.lower() != b"set-cookie"]
                if not static and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _starlette(settings: Settings, lifespan: Callable[[Starlette], Any] | None) -> Starlette:
    return Starlette(
        routes=routes(),
        middleware=[
            Middleware(
                SecurityHeaders,
                https=settings.web_secure_cookies,
                embed_ancestors=settings.public_embed_ancestors,
            ),
            Middleware(
                SessionMiddleware,
                secret_key=settings.web_session_secret.get_secret_value(),
                session_cookie=SESSION_COOKIE,
                max_age=int(settings.web_session_hours * 3600),
                same_site="lax",
                https_only=settings.web_secure_cookies,
            ),
        ],
        exception_handlers={403: error_page, 404: error_page, 405: error_page},
        lifespan=lifespan,
    )


def public_cache(settings: Settings) -> StatsCache:
    """The public pages' cache: what a published page shows, kept as long as the
    dashboard's charts, in its own instance (and so its own size limit)."""
    return StatsCache(settings.web_stats_max_age_seconds, max_entries=1024, keep_none=False)


def create_web_app(app: App, *, clock: Callable[[], datetime] = utcnow) -> Starlette:
    """The dashboard for an already built `App` (tests build one per database)."""
    web = _starlette(app.settings, None)
    web.state.dashboard = Dashboard(
        app,
        make_templates(),
        clock,
        StatsCache(app.settings.web_stats_max_age_seconds),
        public_cache(app.settings),
    )
    return web


def web_app_from_settings(settings: Settings) -> Starlette:
    """The dashboard with its own `App`, built and closed by the ASGI lifespan."""

    @asynccontextmanager
    async def lifespan(web: Starlette) -> AsyncIterator[None]:
        app = await build_app(settings)
        web.state.dashboard = Dashboard(
            app,
            make_templates(),
            stats=StatsCache(settings.web_stats_max_age_seconds),
            public=public_cache(settings),
        )
        try:
            yield
        finally:
            await web.state.dashboard.close()
            await app.close()

    return _starlette(settings, lifespan)
