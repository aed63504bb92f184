"""The dashboard's pages about what citizens said: consultations and their charts,
exports, free-text coding, service-need reports, and a citizen's thread.

Every handler finds its data through the staff member's organisation: a consultation
or a citizen of another organisation is a 404, exactly like one that does not exist,
so an address never reveals what another organisation has. The one exception is a
partner organisation of a consultation (issue 20): `consultation_access` decides, in
one place, that its staff see the consultation's results, and its own people's
answers, threads and recordings one by one; the owner-only pages call
`own_consultation`, which refuses partners.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from dialogs.schema import Flow, Step, StepKind
from konsulta import privacy, public_numbers
from konsulta.outbound import OutboundMessage
from konsulta.provider_trends import has_trends
from konsulta.public_results import OTHER
from konsulta.quiet import QuietHours
from konsulta.retention import Retention
from review import charts, i18n
from review.export import FORMATS, Format, crosstab_csv, stream_export
from review.i18n import N_
from review.rendering import csv_download, flash, language_of, render
from review.security import ADMIN, EDIT, VIEW, Staff, action, audit, dashboard, page
from storage.models import (
    Answer,
    AnswerMark,
    Citizen,
    Consultation,
    OutboxKind,
    PartnerRole,
    Partnership,
    ReportState,
    Run,
    ThreadDirection,
)
from storage.uow import UnitOfWork
from storage.views import dashboard as queries
from storage.views.dashboard import Conditions, Filters

TEXTS_PER_PAGE = 50
REPORTS_PER_PAGE = 100
MAX_REPLY = 3000
MAX_TAG = 64
CHART_KINDS = {
    StepKind.SINGLE_CHOICE,
    StepKind.MULTIPLE_CHOICE,
    StepKind.RANKING,
    StepKind.YES_NO,
}
HISTOGRAM_KINDS = {StepKind.SCALE, StepKind.NUMBER}
CROSSTAB_KINDS = queries.CROSS_KINDS
REPORT_KINDS = {StepKind.LOCATION, StepKind.PHOTO}
#: What staff read for each kind of question, instead of the flow format's id.
KIND_NAMES = {
    StepKind.MESSAGE: N_("Message"),
    StepKind.SINGLE_CHOICE: N_("One choice"),
    StepKind.MULTIPLE_CHOICE: N_("Several choices"),
    StepKind.TEXT: N_("Free text"),
    StepKind.NUMBER: N_("Number"),
    StepKind.SCALE: N_("Scale"),
    StepKind.YES_NO: N_("Yes or no"),
    StepKind.DATE: N_("Date"),
    StepKind.LOCATION: N_("Location"),
    StepKind.PHOTO: N_("Photo"),
    StepKind.VOICE: N_("Voice note"),
    StepKind.CONTACT: N_("Contact"),
    StepKind.RANKING: N_("Ranking"),
    StepKind.STATEMENTS: N_("Statements to vote on"),
    StepKind.PRIORITIES: N_("Top ideas"),
}


# --- shared lookups -------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What a staff member may see of a consultation. Its owner's staff see all of it
    (`partnership` None). A partner organisation's staff, while their partnership is
    accepted and not ended, see one by one only the answers of runs that meet
    `own_people` (their own people: `storage.repositories.partners`), and of everyone
    else only figures of groups of at least k."""

    consultation: Consultation
    partnership: Partnership | None = None
    #: Conditions on runs: the runs whose answers this staff member may read one by one.
    own_people: Conditions = ()

    @property
    def owner(self) -> bool:
        return self.partnership is None

    @property
    def individual(self) -> bool:
        """Whether any answer at all may be shown one by one (not to a `provider`)."""
        return self.partnership is None or self.partnership.role == PartnerRole.PARTNER

    async def audit(
        self, uow: UnitOfWork, staff: Staff, action_name: str, target: str, **detail: Any
    ) -> None:
        """Audit a staff action on this consultation. A partner's action is written
        to both organisations' logs, naming the partnership: the owner sees what its
        partners did with its consultation."""
        if self.partnership is None:
            await audit(uow, staff, action_name, target, **detail)
            return
        detail["partnership"] = self.partnership.id
        await audit(uow, staff, action_name, target, **detail)
        await uow.audit.add(
            action_name,
            email=staff.email,
            staff_user_id=staff.id,
            organisation_id=self.consultation.organisation_id,
            target=target,
            detail=detail,
        )

    @property
    def key(self) -> int:
        """Tells cached figures apart: 0 for the owner, else the partnership."""
        return 0 if self.partnership is None else self.partnership.id


async def consultation_access(uow: UnitOfWork, staff: Staff, slug: str) -> Access:
    """The one place that decides who sees a consultation: its organisation's staff,
    or a partner organisation's staff through an accepted partnership that has not
    ended. Anyone else gets 404, like for a consultation that does not exist."""
    consultation = await uow.consultations.get_by_slug(slug)
    if consultation is None:
        raise HTTPException(404)
    if consultation.organisation_id == staff.organisation_id:
        return Access(consultation)
    partnership = await uow.partnerships.active(consultation.id, staff.organisation_id)
    if partnership is None:
        raise HTTPException(404)
    return Access(consultation, partnership, (uow.partnerships.belongs(partnership),))


async def people_access(uow: UnitOfWork, staff: Staff, slug: str) -> Access:
    """`consultation_access` for the pages that show answers one by one: a `provider`
    partner has none to see (404)."""
    access = await consultation_access(uow, staff, slug)
    if not access.individual:
        raise HTTPException(404)
    return access


async def own_consultation(uow: UnitOfWork, staff: Staff, slug: str) -> Consultation:
    """The consultation if it belongs to the staff member's organisation, else 404
    (its partners too: the pages that serve them call `consultation_access`)."""
    access = await consultation_access(uow, staff, slug)
    if not access.owner:
        raise HTTPException(404)
    return access.consultation


async def current_flow(request: Request, uow: UnitOfWork, consultation: Consultation) -> Flow:
    current = await dashboard(request).app.flows.current(uow, consultation)
    if current is None:
        raise HTTPException(404)
    return current[1]


def filters_of(request: Request) -> Filters:
    params = dict(request.query_params)
    answer = params.pop("answer", "")
    if ":" in answer:
        params["step"], params["value"] = answer.split(":", 1)
    return Filters.from_query(params)


def _named_languages(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """A by-language breakdown with language names in the staff's language."""
    shown = i18n.current_language()
    return [(i18n.language_name(code, shown), n) for code, n in items]


def choice_text(flow: Flow, step_id: str, value: Any, language: str) -> str | None:
    """What a button answer said, in `language` (the consultation's default): the
    option's label for the key it is stored as, "Yes"/"No" in the staff's language;
    None when the answer is not a button's (staff then read what the citizen wrote)."""
    try:
        step = flow.step(step_id)
    except KeyError:
        return None
    labels = {o.key: flow.localize(o.label, language) for o in step.options}
    if step.kind is StepKind.YES_NO and isinstance(value, bool):
        return i18n.gettext("Yes") if value else i18n.gettext("No")
    if step.kind is StepKind.SINGLE_CHOICE and isinstance(value, str):
        return labels.get(value)
    if step.kind in {StepKind.MULTIPLE_CHOICE, StepKind.RANKING} and isinstance(value, list):
        if not all(isinstance(key, str) and key in labels for key in value):
            return None
        if step.kind is StepKind.RANKING:
            return ", ".join(f"{n}. {labels[key]}" for n, key in enumerate(value, 1))
        return ", ".join(labels[key] for key in value)
    return None


# --- consultations ----------------------------------------------------------------------


@page(VIEW)
async def consultations(request: Request, staff: Staff) -> Response:
    async with dashboard(request).app.uow() as uow:
        organisation = await uow.organisations.get_by_slug(staff.organisation_slug)
        found = await uow.consultations.list_all(organisation=organisation)
        ids = [c.id for c in found]
        counts = await uow.read(queries.counts_by_consultation, ids)
        # Shared with this organisation by others (partnerships), and invitations.
        shared = await uow.partnerships.of_organisation(staff.organisation_id)
    board = dashboard(request)

    async def count_runs() -> queries.Breakdowns:
        async with board.app.uow() as uow:
            return await uow.read(queries.breakdowns, ids)

    overall = None
    if ids:
        overall, _age = await board.stats.get(("overview", tuple(ids)), count_runs)
        i18n.use_language(language_of(request, staff))
        overall = queries.Breakdowns(
            _named_languages(overall.by_language), overall.by_community, overall.by_day
        )
    return render(
        request,
        "consultations.html",
        consultations=found,
        counts=counts,
        shared=shared,
        overall=overall,
        charts=charts,
    )


def _crosstab_choices(flow: Flow, language: str) -> list[tuple[str, str]]:
    """("step:value", "Question = answer") for the cross-tab filter's select."""
    choices: list[tuple[str, str]] = []
    for step in flow.questions:
        if step.kind not in CROSSTAB_KINDS:
            continue
        question = _short(flow.localize(step.text, language), 50)
        if step.kind is StepKind.YES_NO:
            values = [("yes", i18n.gettext("Yes")), ("no", i18n.gettext("No"))]
        elif step.kind is StepKind.SCALE:
            assert step.min is not None and step.max is not None
            values = [(str(p), str(p)) for p in range(int(step.min), int(step.max) + 1)]
        else:
            values = [(o.key, flow.localize(o.label, language)) for o in step.options]
        choices.extend((f"{step.id}:{key}", f"{question} = {label}") for key, label in values)
    return choices


def _row_keys(step: Step, rows: list[tuple[str, int]]) -> list[str]:
    """The option key behind each of a chart's rows (options in flow order)."""
    if step.options and len(step.options) == len(rows):
        return [o.key for o in step.options]
    return [label for label, _n in rows]


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def two_way_questions(flow: Flow) -> list[tuple[str, str]]:
    """(step id, question in the default language) for the two-way table's selects."""
    return [
        (step.id, _short(flow.localize(step.text, flow.default_language), 60))
        for step in flow.questions
        if step.kind in CROSSTAB_KINDS
    ]


def two_way_steps(flow: Flow, params: Any) -> tuple[Step, Step] | None:
    """The two questions the query string crosses (`rows`, `columns`), if both are
    different choice questions of the flow; else None (no table, never an error)."""
    try:
        rows, columns = (
            flow.step(str(params.get("rows", ""))),
            flow.step(str(params.get("columns", ""))),
        )
    except KeyError:
        return None
    if rows.id == columns.id or not {rows.kind, columns.kind} <= CROSSTAB_KINDS:
        return None
    return rows, columns


async def two_way_table(
    uow: UnitOfWork, consultation_id: int, steps: tuple[Step, Step], conditions: Any
) -> queries.CrossTable:
    rows, columns = steps
    pairs = await uow.read(queries.answer_pairs, consultation_id, rows.id, columns.id, conditions)
    return queries.cross_table(rows, columns, pairs)


def two_way_labels(
    flow: Flow, table: queries.CrossTable
) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """The table's two questions and their answers as staff read them: the flow's
    default language, yes and no in the staff's (pick the language first)."""
    language = flow.default_language
    yes, no = i18n.gettext("Yes"), i18n.gettext("No")
    return (
        flow.localize(table.rows.text, language),
        flow.localize(table.columns.text, language),
        queries.answer_labels(flow, table.rows, language, yes=yes, no=no),
        queries.answer_labels(flow, table.columns, language, yes=yes, no=no),
    )


@page(VIEW)
async def consultation(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    filters = filters_of(request)
    board = dashboard(request)
    async with board.app.uow() as uow:
        access = await consultation_access(uow, staff, slug)
        found = access.consultation
        flow = await current_flow(request, uow, found)
        if access.owner:
            conditions = filters.clauses(flow, uow.dialect)
            live = await uow.read(queries.counts, [found.id], conditions)
            retention = await Retention(board.app).notice(uow, found, board.clock().date())
            undelivered = await uow.read(queries.undelivered, found.id)
            wrote_back = await uow.threads.unread_in_consultation(staff.organisation_id, found.id)
            crossed = two_way_steps(flow, request.query_params)
            table = await two_way_table(uow, found.id, crossed, conditions) if crossed else None
    if not access.owner:
        return await shared_results(request, staff, access, flow, filters)
    overview, cards, left_before, drops, age = await _answer_charts(
        request, staff, access, flow, filters
    )
    two_way: dict[str, Any] | None = None
    if table is not None:
        rows_title, columns_title, row_labels, column_labels = two_way_labels(flow, table)
        two_way = {
            "table": table,
            "rows_title": rows_title,
            "columns_title": columns_title,
            "row_labels": row_labels,
            "column_labels": column_labels,
            "query": urlencode({"rows": table.rows.id, "columns": table.columns.id}),
        }
    return render(
        request,
        "consultation.html",
        consultation=found,
        flow=flow,
        filters=filters,
        overview=overview,
        counts=live,
        cards=cards,
        drops=drops,
        left_before=left_before,
        crosstab=_crosstab_choices(flow, flow.default_language),
        two_way_questions=two_way_questions(flow),
        two_way=two_way,
        formats=FORMATS,
        charts=charts,
        has_reports=any(s.kind in REPORT_KINDS for s in flow.questions),
        has_trends=has_trends(flow),
        titles={card["step"].id: card["title"] for card in cards},
        wrote_back=wrote_back,
        stats_age=round(age),
        retention=retention,
        undelivered=undelivered,
    )


async def shared_results(
    request: Request, staff: Staff, access: Access, flow: Flow, filters: Filters
) -> Response:
    """A partner organisation's view of a shared consultation: the charts of its own
    people (none for a `provider`), and of everyone only what the public results'
    k-anonymity rules let through, for every question they can count."""
    app = dashboard(request).app
    found = access.consultation
    k = app.settings.public_min_group
    async with app.uow(read_only=True) as uow:
        owner = await uow.organisations.get(found.organisation_id)
        everyone = await public_numbers.count(
            uow, found, flow, k, steps=public_numbers.countable_steps(flow)
        )
        live = await uow.read(
            queries.counts, [found.id], [*filters.clauses(flow, uow.dialect), *access.own_people]
        )
    overview = cards = None
    age = 0.0
    if access.individual:
        overview, cards, _left, _drops, age = await _answer_charts(
            request, staff, access, flow, filters
        )
    i18n.use_language(language_of(request, staff))
    language = flow.default_language
    yes, no = i18n.gettext("Yes"), i18n.gettext("No")
    shown = []
    for step_id, cells in everyone.questions:
        step = flow.step(step_id)
        labels = queries.answer_labels(flow, step, language, yes=yes, no=no)
        shown.append(
            {
                "step": step,
                "title": flow.localize(step.text, language),
                "cells": [
                    (
                        i18n.gettext(N_("Other answers, or none"))
                        if cell.key == OTHER
                        else labels.get(cell.key, cell.key),
                        cell.count,
                    )
                    for cell in cells
                ],
            }
        )
    return render(
        request,
        "shared_consultation.html",
        shared=True,  # the question cards link to no owner-only page
        consultation=found,
        partnership=access.partnership,
        owner=owner,
        flow=flow,
        filters=filters,
        individual=access.individual,
        counts=live,
        overview=overview,
        cards=cards or [],
        charts=charts,
        everyone=everyone,
        everyone_questions=shown,
        k=k,
        has_trends=has_trends(flow),
        stats_age=round(age),
    )


async def _answer_charts(
    request: Request, staff: Staff, access: Access, flow: Flow, filters: Filters
) -> tuple[queries.Breakdowns, list[dict[str, Any]], int, Any, float]:
    """The consultation page's charts of the runs `access` shows one by one (all of
    them for the owner), from the charts' cache: breakdowns, question cards, drop-off."""
    board = dashboard(request)
    consultation_id = access.consultation.id
    own_people = access.own_people

    async def count_answers() -> tuple[Any, ...]:
        async with board.app.uow() as uow:
            where = [*filters.clauses(flow, uow.dialect), *own_people]
            overview = await uow.read(queries.breakdowns, [consultation_id], where)
            stats = await uow.read(queries.question_stats, consultation_id, flow.questions, where)
            left_before, drops = await uow.read(
                queries.drop_off, consultation_id, flow, stats, where
            )
        return overview, stats, left_before, drops

    # The headline counts are live; the charts may be a few seconds old.
    (overview, stats, left_before, drops), age = await board.stats.get(
        (consultation_id, flow.version, filters, access.key), count_answers
    )
    language = flow.default_language
    # Charts are drawn here, before `render` picks the language: pick it now.
    i18n.use_language(language_of(request, staff))
    yes, no = i18n.gettext("Yes"), i18n.gettext("No")
    cards: list[dict[str, Any]] = []
    for step in flow.questions:
        item = stats[step.id]
        title = flow.localize(step.text, language)
        chart = None
        rows: list[tuple[str, int]] = []
        if step.kind in CHART_KINDS:
            rows = item.labelled(flow, language, yes=yes, no=no)
            chart = charts.bars(rows, title)
        elif step.kind in HISTOGRAM_KINDS:
            rows = item.histogram()
            chart = charts.columns(rows, title)
        places = item.average_places()
        total = sum(n for _label, n in rows) or 1
        cards.append(
            {
                "step": step,
                "title": title,
                "kind": KIND_NAMES[step.kind],
                "stats": item,
                "chart": chart,
                # The chart's numbers with full labels, and for a ranking each option's
                # average place.
                "table": [
                    (label, n, n / total, places.get(key) if places else None)
                    for (label, n), key in zip(rows, _row_keys(step, rows), strict=True)
                ],
                "ranking": step.kind is StepKind.RANKING,
                "timeline": charts.timeline(item.by_day, title) if item.by_day else None,
            }
        )
    overview = queries.Breakdowns(
        _named_languages(overview.by_language), overview.by_community, overview.by_day
    )
    return overview, cards, left_before, drops, age


@page(VIEW)
async def export(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    fmt = request.path_params["fmt"]
    if fmt not in FORMATS:
        raise HTTPException(404)
    filters = filters_of(request)
    app = dashboard(request).app
    async with app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        await audit(uow, staff, "export", slug, format=fmt, filters=filters.query_string())
        await uow.commit()

    async def body() -> Any:
        async with app.uow() as uow:
            conditions = filters.clauses(flow, uow.dialect)
            async for chunk in stream_export(uow, app.flows, slug, _format(fmt), where=conditions):
                yield chunk

    media = {
        "csv": "text/csv; charset=utf-8",
        "json": "application/json",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }[fmt]
    return StreamingResponse(
        body(),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{slug}.{fmt}"'},
    )


@page(VIEW)
async def two_way_export(request: Request, staff: Staff) -> Response:
    """The two-way table on the consultation page as CSV, filtered as on screen."""
    slug = request.path_params["slug"]
    filters = filters_of(request)
    async with dashboard(request).app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        crossed = two_way_steps(flow, request.query_params)
        if crossed is None:
            raise HTTPException(404)
        table = await two_way_table(uow, found.id, crossed, filters.clauses(flow, uow.dialect))
        await audit(
            uow,
            staff,
            "export",
            slug,
            format="crosstab.csv",
            rows=crossed[0].id,
            columns=crossed[1].id,
            filters=filters.query_string(),
        )
        await uow.commit()
    i18n.use_language(language_of(request, staff))
    rows_title, columns_title, row_labels, column_labels = two_way_labels(flow, table)
    text = crosstab_csv(
        table,
        row_labels,
        column_labels,
        corner=f"{rows_title} / {columns_title}",
        total=i18n.gettext(N_("Citizens")),
    )
    name = f"{slug}-{crossed[0].id}-{crossed[1].id}.csv"
    return csv_download(text.encode("utf-8-sig"), name)


def _format(name: str) -> Format:
    for fmt in FORMATS:
        if fmt == name:
            return fmt
    raise HTTPException(404)


# --- free-text review -------------------------------------------------------------------


@page(VIEW)
async def texts(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    params = request.query_params
    search = (params.get("q") or "").strip()[:200]
    step_id = params.get("step") or None
    tag_id = int(params["tag"]) if (params.get("tag") or "").isdecimal() else None
    mark = params.get("mark") if params.get("mark") in set(AnswerMark) else None
    flagged = params.get("flagged") == "1"
    offset = int(params["offset"]) if (params.get("offset") or "").isdecimal() else 0
    async with dashboard(request).app.uow() as uow:
        access = await people_access(uow, staff, slug)
        found = access.consultation
        flow = await current_flow(request, uow, found)
        text_steps = [s.id for s in flow.questions if s.kind is StepKind.TEXT]
        if step_id not in text_steps:
            step_id = None
        rows = await uow.read(
            queries.free_texts,
            found.id,
            [step_id] if step_id else text_steps,
            search=search,
            tag_id=tag_id,
            mark=mark,
            flagged=flagged,
            limit=TEXTS_PER_PAGE + 1,
            offset=offset,
            where=access.own_people,
        )
        more = len(rows) > TEXTS_PER_PAGE
        rows = rows[:TEXTS_PER_PAGE]
        ids = [answer.id for answer, _pid, _lang in rows]
        codings = await uow.codings.codings(ids)
        tagged = await uow.codings.tags_of(ids)
        tags = await uow.codings.tags(found.id)
        tag_counts = await uow.codings.tag_counts(found.id)
        # What was looked at, never what it said: the filters, not the search words
        # (they may be a name), and how many answers were shown.
        await access.audit(
            uow,
            staff,
            "view",
            slug,
            page="texts",
            shown=len(rows),
            offset=offset,
            step=step_id,
            tag=tag_id,
            mark=mark,
            flagged=flagged,
            search=bool(search),
        )
        await uow.commit()
    questions = {s.id: flow.localize(s.text, flow.default_language) for s in flow.questions}
    return render(
        request,
        "texts.html",
        consultation=found,
        flow=flow,
        rows=rows,
        codings=codings,
        tagged=tagged,
        tags=tags,
        tag_chart=charts.bars(tag_counts, "tags") if tag_counts else None,
        questions=questions,
        text_steps=text_steps,
        # Voice notes shown but no machine transcripts here: say how to add them.
        stt_hint=dashboard(request).app.transcriber is None
        and any(isinstance(a.value, dict) and a.value.get("voice") for a, _pid, _lang in rows),
        search=search,
        step_id=step_id,
        tag_id=tag_id,
        mark=mark,
        flagged=flagged,
        offset=offset,
        more=more,
        page_size=TEXTS_PER_PAGE,
        marks=list(AnswerMark),
        back=str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
    )


def _back(form: FormData, default: str) -> str:
    back = str(form.get("back") or "")
    return back if back.startswith("/") and not back.startswith("//") else default


@action(EDIT)
async def add_tag(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    name = " ".join(str(form.get("name") or "").split())[:MAX_TAG]
    async with dashboard(request).app.uow() as uow:
        access = await people_access(uow, staff, slug)
        if name:
            await uow.codings.add_tag(access.consultation.id, name)
            await access.audit(uow, staff, "add_tag", slug, tag=name)
        await uow.commit()
    return RedirectResponse(_back(form, f"/consultations/{slug}/texts"), status_code=303)


@action(EDIT)
async def code_answer(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    answer_id = int(request.path_params["answer_id"])
    async with dashboard(request).app.uow() as uow:
        access = await people_access(uow, staff, slug)
        found = access.consultation
        if await uow.read(queries.answer_consultation, answer_id, access.own_people) != found.id:
            raise HTTPException(404)
        allowed = {t.id for t in await uow.codings.tags(found.id)}
        chosen = {int(str(v)) for v in form.getlist("tags") if str(v).isdecimal()} & allowed
        mark_value = str(form.get("mark") or "")
        mark = mark_value if mark_value in set(AnswerMark) else None
        follow_up = form.get("follow_up") == "1"
        await uow.codings.set_tags(answer_id, chosen)
        await uow.codings.set_coding(answer_id, mark, follow_up)
        await access.audit(
            uow,
            staff,
            "code",
            f"{slug}/answer/{answer_id}",
            tags=sorted(chosen),
            mark=mark,
            follow_up=follow_up,
        )
        await uow.commit()
    flash(request, N_("Saved."))
    return RedirectResponse(
        _back(form, f"/consultations/{slug}/texts") + f"#answer-{answer_id}", status_code=303
    )


# --- service-need reports ---------------------------------------------------------------


@page(VIEW)
async def reports(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    wanted = request.query_params.get("status")
    async with dashboard(request).app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        report_steps = [s.id for s in flow.questions if s.kind in REPORT_KINDS]
        if not report_steps:
            raise HTTPException(404)
        runs = await uow.read(queries.report_runs, found.id, report_steps, limit=REPORTS_PER_PAGE)
        run_ids = [run.id for run, _pid in runs]
        answers: dict[int, dict[str, Answer]] = {}
        for answer in await uow.read(queries.answers_of_runs, run_ids):
            answers.setdefault(answer.run_id, {})[answer.step_id] = answer
        statuses = await uow.reports.statuses(run_ids)
        await audit(uow, staff, "view", slug, page="reports", shown=len(runs), status=wanted)
        await uow.commit()
    items = []
    i18n.use_language(language_of(request, staff))
    for run, pid in runs:
        status = statuses.get(run.id, ReportState.NEW)
        if wanted and wanted != status:
            continue
        given = answers.get(run.id, {})
        # Buttons' answers as the options' labels in the consultation's language.
        labels = {
            a.step_id: shown
            for a in given.values()
            if (shown := choice_text(flow, a.step_id, a.value, flow.default_language))
        }
        items.append(
            {"run": run, "participant": pid, "answers": given, "labels": labels, "status": status}
        )
    return render(
        request,
        "reports.html",
        consultation=found,
        flow=flow,
        items=items,
        steps=flow.questions,
        kinds=StepKind,
        states=list(ReportState),
        wanted=wanted,
    )


def _followup_text(texts: Any, summary: str) -> str:
    return str(
        texts.gettext(
            "You reported: {report}. It is now marked as resolved. Has it been fixed? "
            "Just reply to this message to tell us."
        )
    ).replace("{report}", summary)


@action(EDIT)
async def report_status(request: Request, staff: Staff, form: FormData) -> Response:
    slug = request.path_params["slug"]
    run_id = int(request.path_params["run_id"])
    status = str(form.get("status") or "")
    if status not in set(ReportState):
        raise HTTPException(400)
    app = dashboard(request).app
    async with app.uow() as uow:
        found = await own_consultation(uow, staff, slug)
        run = await uow.runs.get(run_id)
        if run is None or run.consultation_id != found.id:
            raise HTTPException(404)
        await uow.reports.set_status(run_id, status)
        await audit(uow, staff, "report_status", f"{slug}/run/{run_id}", status=status)
        if status == ReportState.RESOLVED and form.get("ask") == "1":
            flow = await current_flow(request, uow, found)
            citizen = await uow.citizens.get(run.citizen_id)
            answers = {a.step_id: a for a in await uow.answers.list_for_run(run_id)}
            first = next((answers[s.id] for s in flow.questions if s.id in answers), None)
            summary = (first.display_text if first else None) or found.title
            if citizen is not None:
                sent = await queue_to_citizen(
                    request,
                    uow,
                    staff,
                    citizen,
                    lambda texts: _followup_text(texts, summary),
                    kind=OutboxKind.FOLLOWUP,
                )
                if sent:
                    flash(request, N_("The citizen is asked whether it has been fixed."))
        await uow.commit()
    return RedirectResponse(_back(form, f"/consultations/{slug}/reports"), status_code=303)


async def run_access(uow: UnitOfWork, staff: Staff, run_id: int) -> tuple[Access, Run]:
    """A run whose answers the staff member may open (a photo, a voice note): of the
    organisation's consultation, or one of its own people's in a shared one."""
    run = await uow.runs.get(run_id)
    consultation_row = await uow.consultations.get(run.consultation_id) if run else None
    if run is None or consultation_row is None:
        raise HTTPException(404)
    access = await people_access(uow, staff, consultation_row.slug)
    if not access.owner and not await uow.read(queries.run_meets, run.id, access.own_people):
        raise HTTPException(404)
    return access, run


@page(VIEW)
async def photo(request: Request, staff: Staff) -> Response:
    """A report's photo, fetched from the Bot API (getFile) on demand."""
    run_id = int(request.path_params["run_id"])
    step_id = request.path_params["step_id"]
    board = dashboard(request)
    async with board.app.uow() as uow:
        access, run = await run_access(uow, staff, run_id)
        consultation_row = access.consultation
        answers = {a.step_id: a for a in await uow.answers.list_for_run(run_id)}
        value = answers[step_id].value if step_id in answers else None
        file_id = value.get("photo") if isinstance(value, dict) else None
        if not isinstance(file_id, str):
            raise HTTPException(404)
        # Named like a report's status change, so /mydata and erasure find it.
        await access.audit(
            uow, staff, "view", f"{consultation_row.slug}/run/{run_id}", page="photo", step=step_id
        )
        bot_name = await uow.citizens.bot_of(run.citizen_id)
        await uow.commit()
    try:
        bot = board.bot(bot_name)  # file ids are per bot: the one the citizen talks to
        file = await bot.get_file(file_id)
        data = await bot.download_file(file.file_path or "")
    except Exception as error:  # the Bot API is outside: any failure is "no photo"
        raise HTTPException(404) from error
    content = data.read() if data is not None else b""
    media = "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"
    return Response(content, media_type=media, headers={"cache-control": "private, max-age=3600"})


#: A player's request for part of a note ("bytes=START-" or "bytes=START-END").
BYTE_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@page(VIEW)
async def voice_note(request: Request, staff: Staff) -> Response:
    """A citizen's voice note, fetched from the Bot API (getFile) on demand, for the
    organisation's staff only. Each listen is audited, and nothing is cached on the
    way (a voice is personal data: the browser keeps no copy).

    Parts are served too (HTTP ranges): a browser reads the end of an OGG file to learn
    how long it plays. Only a request from the start counts as a listen."""
    answer_id = int(request.path_params["answer_id"])
    start = listened_from(request)
    board = dashboard(request)
    async with board.app.uow() as uow:
        answer = await uow.answers.get(answer_id)
        if answer is None:
            raise HTTPException(404)
        access, run = await run_access(uow, staff, answer.run_id)
        consultation_row = access.consultation
        value = answer.value
        file_id = value.get("voice") if isinstance(value, dict) else None
        if not isinstance(file_id, str):
            raise HTTPException(404)
        bot_name = await uow.citizens.bot_of(run.citizen_id)
        if start == 0:
            await access.audit(uow, staff, "listen", f"{consultation_row.slug}/answer/{answer_id}")
            await uow.commit()
    return await voice_from_bot(request, bot_name, file_id)


def listened_from(request: Request) -> int:
    """Where the browser asks the voice note from: 0 is a listen (audited), more is
    the browser reading the end to learn how long it plays."""
    wanted = BYTE_RANGE.fullmatch(request.headers.get("range", "").strip())
    return int(wanted.group(1)) if wanted else 0


async def voice_from_bot(request: Request, bot_name: str, file_id: str) -> Response:
    """A voice note fetched from the Bot API of the bot `bot_name` (file ids are per
    bot), served whole or in the part asked for, never cached."""
    board = dashboard(request)
    wanted = BYTE_RANGE.fullmatch(request.headers.get("range", "").strip())
    start = int(wanted.group(1)) if wanted else 0
    try:
        bot = board.bot(bot_name)  # file ids are per bot: the one the citizen talks to
        file = await bot.get_file(file_id)
        data = await bot.download_file(file.file_path or "")
    except Exception as error:  # the Bot API is outside: any failure is "no voice note"
        raise HTTPException(404) from error
    content = data.read() if data is not None else b""
    headers = {"cache-control": "no-store", "accept-ranges": "bytes"}
    if wanted is None or (start == 0 and not wanted.group(2)):
        return Response(content, media_type="audio/ogg", headers=headers)
    if start >= len(content):
        return Response(
            status_code=416, headers={**headers, "content-range": f"bytes */{len(content)}"}
        )
    end = min(int(wanted.group(2) or len(content) - 1), len(content) - 1)
    headers["content-range"] = f"bytes {start}-{end}/{len(content)}"
    return Response(content[start : end + 1], 206, headers, media_type="audio/ogg")


# --- a citizen's thread ------------------------------------------------------------------


async def own_citizen(uow: UnitOfWork, staff: Staff, pid: str) -> Citizen:
    """The citizen if they took part in one of the organisation's consultations, or
    are one of its own people in a consultation shared with it (`citizen_runs`)."""
    citizen = await uow.citizens.get_by_participant_id(pid)
    if citizen is None:
        raise HTTPException(404)
    organisation = staff.organisation_id
    own = await uow.read(queries.took_part_in_organisation, citizen.id, organisation)
    if not own and not await uow.partnerships.citizen_runs(citizen.id, organisation):
        raise HTTPException(404)
    return citizen


async def citizen_runs(
    uow: UnitOfWork, staff: Staff, citizen: Citizen
) -> list[tuple[Run, Consultation]]:
    """The citizen's runs the staff member may read: in the organisation's own
    consultations, and as one of its own people in consultations shared with it."""
    runs = await uow.read(queries.citizen_runs, citizen.id, staff.organisation_id)
    shared = await uow.partnerships.citizen_runs(citizen.id, staff.organisation_id)
    return sorted([*runs, *shared], key=lambda pair: pair[0].id, reverse=True)


@page(VIEW)
async def thread(request: Request, staff: Staff) -> Response:
    pid = request.path_params["pid"]
    app = dashboard(request).app
    async with app.uow() as uow:
        citizen = await own_citizen(uow, staff, pid)
        runs = await citizen_runs(uow, staff, citizen)
        answers: dict[int, list[Answer]] = {}
        questions: dict[int, dict[str, str]] = {}
        # A button's answer is stored as its option key: staff read the option's label
        # in the consultation's default language, not the citizen's words for it.
        labels: dict[int, str] = {}
        i18n.use_language(language_of(request, staff))
        for run, found in runs:
            answers[run.id] = await uow.answers.list_for_run(run.id)
            version = await uow.consultations.get_version_by_id(run.flow_version_id)
            if version is not None:
                flow = app.flows.flow(version)
                questions[run.id] = {
                    s.id: flow.localize(s.text, flow.default_language) for s in flow.steps
                }
                for answer in answers[run.id]:
                    shown = choice_text(flow, answer.step_id, answer.value, flow.default_language)
                    if shown is not None:
                        labels[answer.id] = shown
            del found
        messages = await uow.threads.for_citizen(citizen.id, staff.organisation_id)
        # Opening the thread is reading it: its citizen messages are marked seen, and
        # this page still points out which were new.
        unread = {
            m.id
            for m in messages
            if m.direction != ThreadDirection.TO_CITIZEN and m.seen_at is None
        }
        seen = await uow.threads.mark_seen(
            citizen.id, staff.organisation_id, dashboard(request).clock()
        )
        reachable = await uow.citizens.chat_id(citizen.id) is not None
        still_open = await uow.threads.is_open(citizen.id, staff.organisation_id)
        # Only the organisation the participant took part with erases them (own_assisted).
        may_erase = await uow.read(
            queries.took_part_in_organisation, citizen.id, staff.organisation_id
        )
        await audit(uow, staff, "view_thread", pid)
        await uow.commit()
    request.state.staff = replace(staff, unread=max(staff.unread - seen, 0))
    return render(
        request,
        "thread.html",
        citizen=citizen,
        runs=runs,
        answers=answers,
        questions=questions,
        labels=labels,
        messages=messages,
        unread=unread,
        still_open=still_open,
        reachable=reachable and not citizen.stopped,
        max_reply=MAX_REPLY,
        outbound=ThreadDirection.TO_CITIZEN,
        may_erase=may_erase,
    )


@page(VIEW)
async def replies(request: Request, staff: Staff) -> Response:
    """The conversations inbox: threads whose citizen messages nobody marked done,
    those with messages nobody has opened yet first."""
    async with dashboard(request).app.uow(read_only=True) as uow:
        threads = await uow.threads.open_threads(staff.organisation_id)
    return render(request, "replies.html", threads=threads)


@action(EDIT)
async def thread_done(request: Request, staff: Staff, form: FormData) -> Response:
    """Mark a conversation done: it leaves the inbox until the citizen writes again."""
    pid = request.path_params["pid"]
    async with dashboard(request).app.uow() as uow:
        citizen = await own_citizen(uow, staff, pid)
        closed = await uow.threads.mark_done(
            citizen.id, staff.organisation_id, dashboard(request).clock()
        )
        if closed:
            await audit(uow, staff, "thread_done", pid, messages=closed)
        await uow.commit()
    flash(request, N_("Marked as done. It comes back if the citizen writes again."))
    return RedirectResponse(
        "/replies" if form.get("back") == "replies" else f"/citizens/{pid}", 303
    )


async def queue_to_citizen(
    request: Request,
    uow: UnitOfWork,
    staff: Staff,
    citizen: Citizen,
    text_for: Any,
    *,
    kind: OutboxKind = OutboxKind.REPLY,
    quiet: bool = False,
    dedupe_key: str | None = None,
) -> bool:
    """Queue a message to the citizen through the outbox, framed in their language as
    coming from the organisation, and keep it in the thread. False if unreachable
    (or, with `dedupe_key`, if that message was queued before).

    A reply answers someone who wrote to us and goes at once; a notice nobody asked
    for just now (`quiet=True`) waits for the end of the night in the citizen's time
    zone, like reminders and broadcasts."""
    app = dashboard(request).app
    chat_id = await uow.citizens.chat_id(citizen.id)
    if chat_id is None or citizen.stopped:
        return False
    language = citizen.language or app.settings.default_language
    texts = app.texts(language)
    body = text_for(texts)
    frame = texts.gettext("A message from {organisation}:").replace(
        "{organisation}", staff.organisation_name
    )
    message = OutboundMessage(f"{frame}\n\n{body}", language, role="reply")
    due_at = None
    if quiet:
        settings = app.settings
        night = QuietHours.from_text(
            settings.quiet_hours_start, settings.quiet_hours_end, settings.default_timezone
        )
        due_at = night.deferred_until(dashboard(request).clock(), citizen.timezone)
    queued = await uow.outbox.enqueue(
        chat_id,
        kind,
        message.to_payload(),
        citizen_id=citizen.id,
        due_at=due_at,
        dedupe_key=dedupe_key,
    )
    if queued is None:
        return False
    await uow.threads.add(
        citizen.id,
        staff.organisation_id,
        ThreadDirection.TO_CITIZEN,
        body,
        staff_user_id=staff.id,
    )
    return True


@action(EDIT)
async def reply(request: Request, staff: Staff, form: FormData) -> Response:
    pid = request.path_params["pid"]
    text = str(form.get("text") or "").strip()
    if not text or len(text) > MAX_REPLY:
        flash(request, N_("Write a message of at most %(limit)s characters."), limit=MAX_REPLY)
        return RedirectResponse(f"/citizens/{pid}", status_code=303)
    async with dashboard(request).app.uow() as uow:
        citizen = await own_citizen(uow, staff, pid)
        sent = await queue_to_citizen(request, uow, staff, citizen, lambda _texts: text)
        if sent:
            await audit(uow, staff, "reply", pid, length=len(text))
        await uow.commit()
    flash(
        request,
        N_("Your reply is on its way.") if sent else N_("This citizen cannot be reached."),
    )
    return RedirectResponse(f"/citizens/{pid}", status_code=303)


# --- erasing a participant a leader helped ----------------------------------------------


async def own_assisted(uow: UnitOfWork, staff: Staff, pid: str) -> Citizen:
    """An assisted participant of the organisation (no Telegram account, so no
    /delete of their own); anyone else is a 404 here."""
    citizen = await own_citizen(uow, staff, pid)
    if citizen.assisted_by is None:
        raise HTTPException(404)
    # A partner organisation's own people in a shared consultation are not its to erase.
    if not await uow.read(queries.took_part_in_organisation, citizen.id, staff.organisation_id):
        raise HTTPException(404)
    return citizen


@page(ADMIN)
async def confirm_erase(request: Request, staff: Staff) -> Response:
    """The confirmation step: what will be erased, and the button that does it."""
    pid = request.path_params["pid"]
    async with dashboard(request).app.uow(read_only=True) as uow:
        citizen = await own_assisted(uow, staff, pid)
        runs = await uow.runs.list_for_citizen(citizen.id)
    return render(request, "erase.html", citizen=citizen, runs=len(runs))


@action(ADMIN)
async def erase(request: Request, staff: Staff, form: FormData) -> Response:
    pid = request.path_params["pid"]
    if form.get("confirm") != "1":
        return RedirectResponse(f"/citizens/{pid}/erase", status_code=303)
    app = dashboard(request).app
    async with app.uow(read_only=True) as uow:
        citizen = await own_assisted(uow, staff, pid)
    erased = await privacy.erase_assisted(
        app, citizen.id, staff.organisation_id, by_email=staff.email, by_id=staff.id
    )
    if not erased:
        # Gone meanwhile, or took part with another organisation too: not ours to erase.
        raise HTTPException(404)
    flash(request, N_("Everything about this participant is erased."))
    return RedirectResponse("/consultations", status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/consultations", consultations),
        Route("/consultations/{slug}", consultation),
        Route("/consultations/{slug}/crosstab.csv", two_way_export),
        Route("/consultations/{slug}/export.{fmt}", export),
        Route("/consultations/{slug}/texts", texts),
        Route("/consultations/{slug}/tags", add_tag, methods=["POST"]),
        Route(
            "/consultations/{slug}/answers/{answer_id:int}/coding", code_answer, methods=["POST"]
        ),
        Route("/consultations/{slug}/reports", reports),
        Route("/consultations/{slug}/reports/{run_id:int}/status", report_status, methods=["POST"]),
        Route("/photos/{run_id:int}/{step_id}", photo),
        Route("/answers/{answer_id:int}/voice", voice_note),
        Route("/replies", replies),
        Route("/citizens/{pid}", thread),
        Route("/citizens/{pid}/reply", reply, methods=["POST"]),
        Route("/citizens/{pid}/done", thread_done, methods=["POST"]),
        Route("/citizens/{pid}/erase", confirm_erase),
        Route("/citizens/{pid}/erase", erase, methods=["POST"]),
    ]
