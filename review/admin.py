"""Pages that change what is served or who may see it: publishing consultations,
opening and closing them, their translation templates, staff users, organisations,
and the audit log of everything staff did.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dialogs.loader import Problem, check_flow_text
from dialogs.schema import Flow
from dialogs.xlsform import ExportError, FormProblem, read_xlsform, write_xlsform
from konsulta.flow_translations import coverage
from konsulta.publishing import organisation_slug, publish
from review.diagram import DiagramError, flow_svg, inline_svg
from review.i18n import LANGUAGES, N_, translations
from review.pages import current_flow, own_consultation
from review.rendering import flash, language_of, render, safe_next
from review.security import (
    ADMIN,
    EDIT,
    MIN_PASSWORD_LENGTH,
    PLATFORM,
    VIEW,
    Staff,
    action,
    audit,
    dashboard,
    hash_password,
    page,
)
from storage.models import ConsultationStatus, Register, StaffRole, StaffUser
from storage.repositories import VersionConflict
from storage.repositories.review import ERASED_PARTICIPANT
from storage.uow import UnitOfWork

MAX_FLOW_BYTES = 512 * 1024
#: A spreadsheet form is zipped XML, larger than the YAML it becomes.
MAX_FORM_BYTES = 2 * 1024 * 1024
AUDIT_PAGE = 100
AUDIT_ACTIONS = (
    "login",
    "view_thread",
    "view",
    "export",
    "reply",
    "thread_done",
    "publish",
    "open",
    "close",
    "code",
    "add_tag",
    "report_status",
    "add_user",
    "user_active",
    "add_organisation",
    "set_register",
    "broadcast",
    "passwd",
    "erase",
    "results",
    "retention_purge",
    "translate",
)


# --- publishing ------------------------------------------------------------------------


#: A problem's text and whether it is one of the dashboard's own msgids (translated
#: when shown) rather than the loader's words, which quote the staff member's YAML and
#: so are shown as plain, escaped text: never through gettext's %-formatting or Markup.
ProblemText = tuple[str, bool]


def problems_by_step(problems: list[Problem]) -> list[tuple[str | None, list[ProblemText]]]:
    grouped: dict[str | None, list[ProblemText]] = {}
    for problem in problems:
        grouped.setdefault(problem.step, []).append((problem.message, False))
    return list(grouped.items())


def own_problem(msgid: str) -> list[tuple[str | None, list[ProblemText]]]:
    return [(None, [(msgid, True)])]


@page(VIEW)
async def publishing(request: Request, staff: Staff) -> Response:
    async with dashboard(request).app.uow() as uow:
        organisation = await uow.organisations.get_by_slug(staff.organisation_slug)
        found = await uow.consultations.list_all(organisation=organisation)
    return render(request, "publish.html", consultations=found, result=None)


async def _flow_text(form: FormData) -> tuple[str, str]:
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_FLOW_BYTES + 1)
        name = upload.filename
    else:
        data = str(form.get("yaml") or "").encode()
        name = "flow.yaml"
    if len(data) > MAX_FLOW_BYTES:
        raise HTTPException(413)
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError as error:
        raise HTTPException(400, "not UTF-8 text") from error


def flow_diagram(flow: Flow | None, problems: list[Problem]) -> str | None:
    """The flow drawn with its problems in red (None without Graphviz)."""
    try:
        return inline_svg(flow_svg(flow, problems))
    except DiagramError:
        return None


#: Seconds the flow check and its diagram may take before the staff member is told so.
FLOW_CHECK_SECONDS = 10.0


async def checked_off_the_loop(
    yaml_text: str, name: str
) -> tuple[Flow | None, list[Problem], str | None]:
    """The flow check and its diagram in a worker thread, so one large paste never
    holds up every other request, and with a time limit the staff member hears about."""

    def check() -> tuple[Flow | None, list[Problem], str | None]:
        flow, problems = check_flow_text(yaml_text, name)
        return flow, problems, flow_diagram(flow, problems)

    try:
        return await asyncio.wait_for(asyncio.to_thread(check), FLOW_CHECK_SECONDS)
    except TimeoutError:
        took = f"the check took longer than {FLOW_CHECK_SECONDS:.0f} s: is the file very large?"
        return None, [Problem(name, None, took)], None


def form_problems_by_row(
    problems: list[FormProblem], translate: Callable[[str], str]
) -> list[tuple[str | None, list[ProblemText]]]:
    """A spreadsheet's problems grouped by sheet and row, in the staff member's language
    (the msgids come from dialogs/xlsform.py; what they quote is the staff's own)."""
    grouped: dict[str | None, list[ProblemText]] = {}
    for problem in problems:
        where = (
            translate(N_("%(sheet)s row %(row)s")) % {"sheet": problem.sheet, "row": problem.row}
            if problem.row is not None
            else problem.sheet
        )
        grouped.setdefault(where, []).append((problem.text(translate), False))
    return list(grouped.items())


def _is_spreadsheet(form: FormData) -> UploadFile | None:
    upload = form.get("file")
    if isinstance(upload, UploadFile) and (upload.filename or "").lower().endswith(".xlsx"):
        return upload
    return None


async def converted_off_the_loop(
    request: Request, staff: Staff, upload: UploadFile
) -> tuple[str, str, list[tuple[str | None, list[ProblemText]]]]:
    """An uploaded XLSForm as flow YAML (in a worker thread, with the check's time
    limit), and its problems by row; the staff member's organisation stands in for a
    settings sheet that names none."""
    data = await upload.read(MAX_FORM_BYTES + 1)
    if len(data) > MAX_FORM_BYTES:
        raise HTTPException(413)
    name = upload.filename or "form.xlsx"
    async with dashboard(request).app.uow(read_only=True) as uow:
        organisation = await uow.organisations.get_by_slug(staff.organisation_slug)
    default = organisation.name if organisation is not None else None
    translate = translations(language_of(request, staff)).gettext
    try:
        imported = await asyncio.wait_for(
            asyncio.to_thread(read_xlsform, data, name, organisation=default), FLOW_CHECK_SECONDS
        )
    except TimeoutError:
        took = N_("the check took longer than %(seconds)s s: is the file very large?")
        problem = FormProblem("form", None, took, {"seconds": f"{FLOW_CHECK_SECONDS:.0f}"})
        return "", name, form_problems_by_row([problem], translate)
    return imported.yaml_text or "", name, form_problems_by_row(imported.problems, translate)


async def refusal(uow: UnitOfWork, staff: Staff, flow: Flow) -> str | None:
    """Why `staff` may not publish `flow` (a msgid), or None: only their own
    organisation's flows, and never over another organisation's consultation."""
    existing = await uow.consultations.get_by_slug(flow.id)
    if organisation_slug(flow.organisation) != staff.organisation_slug or (
        existing is not None and existing.organisation_id != staff.organisation_id
    ):
        return N_("This flow belongs to another organisation.")
    return None


async def publish_own(
    request: Request, uow: UnitOfWork, staff: Staff, flow: Flow, yaml_text: str, *, open_now: bool
) -> Response | str:
    """Publish a checked flow the caller found no `refusal` for, audited and committed:
    the redirect to its page, or why not (a msgid). The publish page and the builder
    both publish through here."""
    try:
        done = await publish(uow, flow, yaml_text, open_now=open_now)
    except VersionConflict:
        return N_("This version is already published with other content.")
    await audit(uow, staff, "publish", flow.id, version=flow.version)
    await uow.commit()
    flash(request, N_("Published."))
    return RedirectResponse(f"/consultations/{done.slug}", status_code=303)


@action(EDIT)
async def publish_flow(request: Request, staff: Staff, form: FormData) -> Response:
    upload = _is_spreadsheet(form)
    if upload is not None:
        yaml_text, name, by_row = await converted_off_the_loop(request, staff, upload)
    else:
        yaml_text, name = await _flow_text(form)
        by_row = []
    problems: list[Problem] = []
    flow: Flow | None = None
    diagram: str | None = None
    if not by_row:
        flow, problems, diagram = await checked_off_the_loop(yaml_text, name)
    result: dict[str, object] = {
        "name": name,
        "problems": by_row or problems_by_step(problems),
        "diagram": diagram,
        # How much of each listed language the flow has (inline texts: a YAML brings
        # no catalogs; the translations page adds them after publishing).
        "coverage": coverage(flow) if flow is not None else [],
    }
    app = dashboard(request).app
    async with app.uow() as uow:
        organisation = await uow.organisations.get_by_slug(staff.organisation_slug)
        if flow is not None and not problems:
            result["flow"] = flow
            refused = await refusal(uow, staff, flow)
            if refused is not None:
                result["problems"] = own_problem(refused)
            elif form.get("do") == "publish":
                published = await publish_own(
                    request, uow, staff, flow, yaml_text, open_now=form.get("open") == "1"
                )
                if isinstance(published, Response):
                    return published
                result["problems"] = own_problem(published)
        found = await uow.consultations.list_all(organisation=organisation)
    status = 200 if not result["problems"] else 422
    return render(
        request,
        "publish.html",
        status_code=status,
        consultations=found,
        result=result,
        yaml_text=yaml_text,
    )


@action(EDIT)
async def set_status(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    wanted = str(form.get("status") or "")
    if wanted not in (ConsultationStatus.OPEN, ConsultationStatus.CLOSED):
        raise HTTPException(400)
    async with dashboard(request).app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        await uow.consultations.set_status(found, wanted)
        await audit(uow, staff, "open" if wanted == ConsultationStatus.OPEN else "close", slug)
        await uow.commit()
    return RedirectResponse(safe_next(str(form.get("back") or "/publish")), status_code=303)


def translation_template(flow: Flow) -> bytes:
    """A gettext template (.pot) of every citizen-visible text of the flow, with
    where it lives as a comment, for a translator to fill in."""
    catalog = Catalog(project=flow.id, version=str(flow.version), fuzzy=False)
    for where, text in flow.flow_texts():
        source = text if isinstance(text, str) else text.get(flow.default_language)
        if source:
            catalog.add(source, auto_comments=[where], locations=[(f"{flow.id}.yaml", 0)])
    out = io.BytesIO()
    write_po(out, catalog, omit_header=False, sort_output=False)
    return out.getvalue()


@page(VIEW)
async def template(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
    return Response(
        translation_template(flow),
        media_type="text/x-gettext-translation",
        headers={"content-disposition": f'attachment; filename="{slug}.pot"'},
    )


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@page(VIEW)
async def spreadsheet_form(request: Request, staff: Staff) -> Response:
    """The current version as XLSForm, to edit in a spreadsheet or open in KoBo/ODK
    (what XLSForm cannot hold is listed in docs/flows.md)."""
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
    try:
        data, _left_out = write_xlsform(flow)
    except ExportError as error:  # a loop back: no relevant can say it
        raise HTTPException(409, "; ".join(error.problems)) from error
    return Response(
        data,
        media_type=XLSX_TYPE,
        headers={"content-disposition": f'attachment; filename="{slug}.xlsx"'},
    )


# --- users and organisations ------------------------------------------------------------


#: What the add-user form offers first: the least a new account may do; more is a choice.
DEFAULT_ROLE = StaffRole.VIEWER


def _roles_for(staff: Staff) -> list[StaffRole]:
    """The roles `staff` may hand out, the least privileged first: only the platform
    operator makes another."""
    return [r for r in reversed(StaffRole) if staff.is_platform or r != StaffRole.PLATFORM]


def _manages(staff: Staff, user: StaffUser) -> bool:
    """Whether `staff` may change `user`'s account: the platform operator any, an
    organisation's admin those of their own organisation but the operator's."""
    if staff.is_platform:
        return True
    return user.organisation_id == staff.organisation_id and user.role != StaffRole.PLATFORM


@page(ADMIN)
async def users(request: Request, staff: Staff) -> Response:
    """An organisation's admin sees their own organisation's accounts; the platform
    operator sees every organisation's."""
    async with dashboard(request).app.uow() as uow:
        if staff.is_platform:
            everyone = await uow.staff.list_all()
            organisations = await uow.organisations.list_all()
        else:
            everyone = await uow.staff.list_all(organisation_id=staff.organisation_id)
            own = await uow.organisations.get(staff.organisation_id)
            organisations = [own] if own is not None else []
    names = {o.id: o.slug for o in organisations}
    return render(
        request,
        "users.html",
        users=everyone,
        organisations=organisations,
        names=names,
        roles=_roles_for(staff),
        default_role=DEFAULT_ROLE,
        min_password=MIN_PASSWORD_LENGTH,
        platform=staff.is_platform,
        registers=list(Register),
    )


@action(ADMIN)
async def add_user(request: Request, staff: Staff, form: FormData) -> Response:
    email = str(form.get("email") or "").strip().lower()
    role = str(form.get("role") or "")
    password = str(form.get("password") or "")
    language = str(form.get("language") or LANGUAGES[0])
    organisation_id = str(form.get("organisation") or "")
    if not staff.is_platform:
        # An organisation's admin adds accounts to their own organisation, whatever
        # the form says.
        organisation_id = str(staff.organisation_id)
    async with dashboard(request).app.uow() as uow:
        organisation = (
            await uow.organisations.get(int(organisation_id))
            if organisation_id.isdecimal()
            else None
        )
        if (
            "@" not in email
            or role not in _roles_for(staff)
            or organisation is None
            or len(password) < MIN_PASSWORD_LENGTH
            or language not in LANGUAGES
        ):
            flash(request, N_("Check the e-mail, role, organisation and password length."))
        elif await uow.staff.get_by_email(email) is not None:
            flash(request, N_("A user with this e-mail exists already."))
        else:
            await uow.staff.create(email, hash_password(password), role, organisation.id, language)
            await audit(uow, staff, "add_user", email, role=role, organisation=organisation.slug)
            await uow.commit()
            flash(request, N_("User added."))
    return RedirectResponse("/admin/users", status_code=303)


@action(ADMIN)
async def user_active(request: Request, staff: Staff, form: FormData) -> Response:
    user_id = int(request.path_params["user_id"])
    active = form.get("active") == "1"
    async with dashboard(request).app.uow() as uow:
        user = await uow.staff.get(user_id)
        if user is None or not _manages(staff, user):
            raise HTTPException(404)
        if user.id == staff.id and not active:
            flash(request, N_("You cannot disable your own account."))
        else:
            user.active = active
            await audit(uow, staff, "user_active", user.email, active=active)
            await uow.commit()
    return RedirectResponse("/admin/users", status_code=303)


@action(PLATFORM)
async def add_organisation(request: Request, staff: Staff, form: FormData) -> Response:
    name = " ".join(str(form.get("name") or "").split())[:200]
    if name:
        slug = organisation_slug(name)
        async with dashboard(request).app.uow() as uow:
            await uow.organisations.get_or_create(slug, name)
            await audit(uow, staff, "add_organisation", slug, name=name)
            await uow.commit()
        flash(request, N_("Organisation added."))
    return RedirectResponse("/admin/users", status_code=303)


@action(ADMIN)
async def set_register(request: Request, staff: Staff, form: FormData) -> Response:
    """How the bot's own texts address the citizens of an organisation's consultations
    (docs/languages.md, "Register"): an admin sets their own organisation's, the
    platform operator any organisation's."""
    organisation_id = int(request.path_params["organisation_id"])
    wanted = str(form.get("register") or "")
    if wanted not in set(Register):
        raise HTTPException(400)
    if not staff.is_platform and organisation_id != staff.organisation_id:
        raise HTTPException(404)
    async with dashboard(request).app.uow() as uow:
        organisation = await uow.organisations.get(organisation_id)
        if organisation is None:
            raise HTTPException(404)
        await uow.organisations.set_register(organisation, Register(wanted))
        await audit(uow, staff, "set_register", organisation.slug, register=wanted)
        await uow.commit()
    flash(request, N_("Saved."))
    return RedirectResponse("/admin/users", status_code=303)


# --- audit log -------------------------------------------------------------------------


def _day(text: str | None) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(text or ""), time.min, tzinfo=UTC)
    except ValueError:
        return None


@page(VIEW)
async def audit_log(request: Request, staff: Staff) -> Response:
    params = request.query_params
    action_name = params.get("action") or None
    email = (params.get("email") or "").strip() or None
    since = _day(params.get("since"))
    until = _day(params.get("until"))
    offset = int(params["offset"]) if (params.get("offset") or "").isdigit() else 0
    async with dashboard(request).app.uow() as uow:
        entries = await uow.audit.search(
            organisation_id=None if staff.is_platform else staff.organisation_id,
            action=action_name,
            email=email,
            since=since,
            until=until + timedelta(days=1) if until else None,
            limit=AUDIT_PAGE + 1,
            offset=offset,
        )
    return render(
        request,
        "audit.html",
        entries=entries[:AUDIT_PAGE],
        more=len(entries) > AUDIT_PAGE,
        actions=AUDIT_ACTIONS,
        erased=ERASED_PARTICIPANT,
        chosen=action_name,
        email=email or "",
        since=params.get("since") or "",
        until=params.get("until") or "",
        offset=offset,
        page_size=AUDIT_PAGE,
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/publish", publishing, methods=["GET"]),
        Route("/publish", publish_flow, methods=["POST"]),
        Route("/consultations/{slug}/status", set_status, methods=["POST"]),
        Route("/consultations/{slug}/template.pot", template),
        Route("/consultations/{slug}/form.xlsx", spreadsheet_form),
        Route("/admin/users", users),
        Route("/admin/users", add_user, methods=["POST"]),
        Route("/admin/users/{user_id:int}/active", user_active, methods=["POST"]),
        Route("/admin/organisations", add_organisation, methods=["POST"]),
        Route(
            "/admin/organisations/{organisation_id:int}/register",
            set_register,
            methods=["POST"],
        ),
        Route("/audit", audit_log),
    ]
