"""Moderating citizens' statements (issue 19): the queue, and what staff decide on it.

A `statements` step lets participants propose statements (ideas) that others then vote
on. A proposal is shown to nobody until staff approve it here; they may instead reject
it with a reason (kept, so a later look at the log says why), merge a duplicate into
an approved statement (its votes count there), or correct a typo. A correction never
overwrites what the author wrote: `Statement.text` stays as written, the fix goes to
`corrected_text`, and this page shows both.

When a proposal goes live, its author hears so in their own language, through the
same path as a staff reply (`review.pages.queue_to_citizen`): nothing for someone who
sent /stop or cannot be reached, and nothing at night in their time zone (the message
waits for the morning). The dedupe key makes it one message per statement however
often staff change their mind.

Closing the loop ("you said, we did"): staff mark an approved idea taken up, in
progress, done, or not possible (with the reason, which is then required). Everyone
who proposed it or agreed with it (`StatementRepository.supporters`) is told through
the same path, in their language, with /stop and the night respected; the dedupe key
names the statement, the status and the supporter, so each status reaches each supporter at most
once, and marking the status it already has tells nobody again.

The page shows citizens' own words, so opening it is audited (like the free texts and
the reports); every decision is audited too. Viewers read; staff, admins and the
platform act; another organisation's consultation is a 404.
"""

from __future__ import annotations

import re

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dialogs.events import Translator
from review.i18n import N_
from review.pages import listened_from, own_consultation, queue_to_citizen, voice_from_bot
from review.rendering import flash, render
from review.security import EDIT, VIEW, Staff, action, audit, dashboard, page
from storage.models import (
    Citizen,
    Consultation,
    IdeaStatus,
    OutboxKind,
    Statement,
    StatementStatus,
)
from storage.uow import UnitOfWork

__all__ = ["IDEA_STATUSES", "MAX_REASON", "MAX_STATEMENT", "idea_text", "live_text", "routes"]

#: A rejection's reason is a note for the log, not an essay.
MAX_REASON = 500
#: A corrected statement stays as short as a statement is meant to be.
MAX_STATEMENT = 1000


def live_text(texts: Translator, statement: str) -> str:
    """What the author reads when their statement is approved (in their language)."""
    return str(
        texts.gettext(
            "Thank you for your statement. It has been approved and other participants "
            "can now vote on it:\n\n{statement}"
        )
    ).replace("{statement}", statement)


#: What staff choose from on the page, in this order, with their dashboard labels.
IDEA_STATUSES: tuple[tuple[IdeaStatus, str], ...] = (
    (IdeaStatus.TAKEN_UP, N_("Taken up")),
    (IdeaStatus.IN_PROGRESS, N_("In progress")),
    (IdeaStatus.DONE, N_("Done")),
    (IdeaStatus.NOT_POSSIBLE, N_("Not possible")),
)


def idea_text(texts: Translator, status: IdeaStatus, idea: str, reason: str | None) -> str:
    """What a supporter of the idea reads when staff mark its new status (in their
    language): the status in words, the idea itself, and for "not possible" the why."""
    if status is IdeaStatus.TAKEN_UP:
        body = texts.gettext(
            "An idea you proposed or agreed with has been taken up. We will work on it:\n\n{idea}"
        )
    elif status is IdeaStatus.IN_PROGRESS:
        body = texts.gettext("Work has started on an idea you proposed or agreed with:\n\n{idea}")
    elif status is IdeaStatus.DONE:
        body = texts.gettext("An idea you proposed or agreed with has been carried out:\n\n{idea}")
    else:
        body = texts.gettext(
            "Unfortunately, an idea you proposed or agreed with is not possible:"
            "\n\n{idea}\n\nThe reason: {reason}"
        )
    # One substitution pass, so braces in the idea or the reason are left as written.
    values = {"idea": idea, "reason": reason or ""}
    return re.sub(r"\{(idea|reason)\}", lambda m: values[m.group(1)], str(body))


def _idea_in(statement: Statement, citizen: Citizen, default: str) -> str:
    """The idea's words in the citizen's language when staff translated it, else as shown."""
    language = citizen.language or default
    return (statement.translations or {}).get(language) or statement.shown_text


def _base(slug: str) -> str:
    return f"/consultations/{slug}/statements"


async def _own_statement(
    uow: UnitOfWork, staff: Staff, request: Request
) -> tuple[Consultation, Statement]:
    """The consultation (the staff member's organisation's) and its statement, else 404:
    a statement id of another consultation is as unknown as one that does not exist."""
    found = await own_consultation(uow, staff, request.path_params["slug"])
    statement = await uow.statements.get(found.id, int(request.path_params["statement_id"]))
    if statement is None:
        raise HTTPException(404)
    return found, statement


def _target(slug: str, statement: Statement) -> str:
    return f"{slug}/statement/{statement.id}"


def _words(form: FormData, name: str) -> str:
    return " ".join(str(form.get(name) or "").split())


@page(VIEW)
async def statements(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        every = await uow.statements.list_for(found.id)
        await audit(uow, staff, "view", slug, page="statements", shown=len(every))
        await uow.commit()
    groups: dict[StatementStatus, list[Statement]] = {status: [] for status in StatementStatus}
    for statement in every:
        groups[StatementStatus(statement.status)].append(statement)
    shown = {statement.id: statement.shown_text for statement in every}
    return render(
        request,
        "statements.html",
        consultation=found,
        pending=groups[StatementStatus.PENDING],
        approved=groups[StatementStatus.APPROVED],
        rejected=groups[StatementStatus.REJECTED],
        merged=groups[StatementStatus.MERGED],
        shown=shown,
        max_reason=MAX_REASON,
        max_statement=MAX_STATEMENT,
        idea_statuses=IDEA_STATUSES,
        idea_labels={status.value: label for status, label in IDEA_STATUSES},
    )


@action(EDIT)
async def approve(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    board = dashboard(request)
    async with board.app.uow() as uow:
        _found, statement = await _own_statement(uow, staff, request)
        if statement.voice and not statement.corrected_text:
            # Others would read "🎤": a spoken idea goes live in words, typed up first.
            flash(request, N_("Listen to the voice message and type it up first."))
            return RedirectResponse(_base(slug), status_code=303)
        was = statement.status
        await uow.statements.approve(statement, staff.id, board.clock())
        told = False
        author = await uow.statements.author_of(statement)
        citizen = await uow.citizens.get(author) if author is not None else None
        if citizen is not None and was != StatementStatus.APPROVED:
            shown = statement.shown_text
            told = await queue_to_citizen(
                request,
                uow,
                staff,
                citizen,
                lambda texts: live_text(texts, shown),
                kind=OutboxKind.NOTICE,
                quiet=True,
                dedupe_key=f"statement-live:{statement.id}",
            )
        await audit(
            uow, staff, "approve_statement", _target(slug, statement), was=was, author_told=told
        )
        await uow.commit()
    flash(
        request,
        N_("Approved. Its author is told it is live.") if told else N_("Approved."),
    )
    return RedirectResponse(_base(slug), status_code=303)


@action(EDIT)
async def reject(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    reason = _words(form, "reason")
    if not reason or len(reason) > MAX_REASON:
        flash(request, N_("Give a reason of at most %(limit)s characters."), limit=MAX_REASON)
        return RedirectResponse(_base(slug), status_code=303)
    board = dashboard(request)
    async with board.app.uow() as uow:
        _found, statement = await _own_statement(uow, staff, request)
        was = statement.status
        await uow.statements.reject(statement, reason, staff.id, board.clock())
        await audit(
            uow, staff, "reject_statement", _target(slug, statement), was=was, reason=reason
        )
        await uow.commit()
    flash(request, N_("Rejected."))
    return RedirectResponse(_base(slug), status_code=303)


@action(EDIT)
async def merge(request: Request, staff: Staff, form: FormData) -> Response:
    """A duplicate goes into an approved statement of the same consultation; the
    participants' votes on it count there (the repository moves them)."""
    slug = request.path_params["slug"]
    into_id = str(form.get("into") or "")
    board = dashboard(request)
    async with board.app.uow() as uow:
        found, statement = await _own_statement(uow, staff, request)
        into = await uow.statements.get(found.id, int(into_id)) if into_id.isdecimal() else None
        if into is None or into.id == statement.id or into.status != StatementStatus.APPROVED:
            flash(request, N_("Choose another approved statement to merge it into."))
            return RedirectResponse(_base(slug), status_code=303)
        was = statement.status
        await uow.statements.merge(statement, into, staff.id, board.clock())
        await audit(uow, staff, "merge_statement", _target(slug, statement), was=was, into=into.id)
        await uow.commit()
    flash(request, N_("Merged."))
    return RedirectResponse(_base(slug), status_code=303)


@action(EDIT)
async def correct(request: Request, staff: Staff, form: FormData) -> Response:
    """Fix a typo: what is shown changes, what the author wrote is kept beside it."""
    slug = request.path_params["slug"]
    text = _words(form, "text")
    if not text or len(text) > MAX_STATEMENT:
        flash(
            request, N_("Write a statement of at most %(limit)s characters."), limit=MAX_STATEMENT
        )
        return RedirectResponse(_base(slug), status_code=303)
    board = dashboard(request)
    async with board.app.uow() as uow:
        _found, statement = await _own_statement(uow, staff, request)
        await uow.statements.correct(statement, text, staff.id, board.clock())
        # The audit names the statement, not its words: a citizen's text in an audit
        # row would outlive their /delete (the statement row itself is erased).
        await audit(uow, staff, "correct_statement", _target(slug, statement))
        await uow.commit()
    flash(request, N_("Corrected. The author's own words are kept."))
    return RedirectResponse(_base(slug), status_code=303)


@action(EDIT)
async def idea_status(request: Request, staff: Staff, form: FormData) -> Response:
    """Mark what became of an approved idea and tell its supporters (module docstring)."""
    slug = request.path_params["slug"]
    chosen = str(form.get("status") or "")
    reason = _words(form, "reason")
    if chosen not in {status.value for status, _label in IDEA_STATUSES}:
        flash(request, N_("Choose what became of the idea."))
        return RedirectResponse(_base(slug), status_code=303)
    status = IdeaStatus(chosen)
    if status is IdeaStatus.NOT_POSSIBLE and (not reason or len(reason) > MAX_REASON):
        flash(
            request,
            N_("Say why it is not possible, in at most %(limit)s characters."),
            limit=MAX_REASON,
        )
        return RedirectResponse(_base(slug), status_code=303)
    if status is not IdeaStatus.NOT_POSSIBLE:
        reason = ""
    board = dashboard(request)
    app = board.app
    async with app.uow() as uow:
        _found, statement = await _own_statement(uow, staff, request)
        if statement.status != StatementStatus.APPROVED:
            flash(request, N_("Only an approved idea has a status."))
            return RedirectResponse(_base(slug), status_code=303)
        was = statement.idea_status
        was_reason = statement.idea_reason
        changed = was != status.value or (was_reason or "") != reason
        told = 0
        if changed:
            await uow.statements.set_idea_status(statement, status, reason or None, board.clock())
        if was != status.value:
            default = app.settings.default_language
            for citizen_id in await uow.statements.supporters(statement):
                citizen = await uow.citizens.get(citizen_id)
                if citizen is None:
                    continue
                idea = _idea_in(statement, citizen, default)
                told += await queue_to_citizen(
                    request,
                    uow,
                    staff,
                    citizen,
                    lambda texts, idea=idea: idea_text(texts, status, idea, reason),
                    kind=OutboxKind.NOTICE,
                    quiet=True,
                    dedupe_key=f"idea-status:{statement.id}:{status.value}:{citizen.id}",
                )
        if changed:
            await audit(
                uow,
                staff,
                "idea_status",
                _target(slug, statement),
                was=was,
                status=status.value,
                reason=reason or None,
                supporters_told=told,
            )
        await uow.commit()
    if not changed:
        flash(request, N_("The idea already has this status; nobody is told again."))
    else:
        flash(request, N_("Status saved. Supporters told: %(count)s."), count=told)
    return RedirectResponse(f"{_base(slug)}#statement-{statement.id}", status_code=303)


@page(VIEW)
async def statement_voice(request: Request, staff: Staff) -> Response:
    """A statement a citizen spoke rather than typed, for the moderator to hear (and
    type up with "correct"); each listen is audited, as with an answer's voice note."""
    async with dashboard(request).app.uow() as uow:
        found, statement = await _own_statement(uow, staff, request)
        file_id = (statement.voice or {}).get("file_id")
        run = await uow.runs.get(statement.author_run_id) if statement.author_run_id else None
        if not isinstance(file_id, str) or run is None:
            raise HTTPException(404)
        bot_name = await uow.citizens.bot_of(run.citizen_id)
        if listened_from(request) == 0:
            await audit(uow, staff, "listen", _target(found.slug, statement))
            await uow.commit()
    return await voice_from_bot(request, bot_name, file_id)


def routes() -> list[BaseRoute]:
    statement = "/consultations/{slug}/statements/{statement_id:int}"
    return [
        Route("/consultations/{slug}/statements", statements, methods=["GET"]),
        Route(f"{statement}/voice", statement_voice, methods=["GET"]),
        Route(f"{statement}/approve", approve, methods=["POST"]),
        Route(f"{statement}/reject", reject, methods=["POST"]),
        Route(f"{statement}/merge", merge, methods=["POST"]),
        Route(f"{statement}/correct", correct, methods=["POST"]),
        Route(f"{statement}/idea-status", idea_status, methods=["POST"]),
    ]
