"""The co-creation roadmap of a consultation: from asking to acting, and telling people.

Co-creation (the CoSIE project's way of working with citizens) is more than a survey:
staff ask, listen, decide with the people, act, and tell them what came of it. This
page puts the five stages side by side for one consultation, each with where it stands
(not started, under way, done), the figures that say so, and links to the dashboard's
tools for that stage, so staff see what is left to do rather than having to remember.

Every figure is read from the data (`storage.views.roadmap.figures`, the consultation
page's headline counts, the unread messages); the status of each stage follows from
those figures by the rules in `stages`, written out in docs/dashboard.md. The page
shows counts only, no one's answers, so viewing it is not audited (like the
consultation page, unlike the free texts and reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from dialogs.schema import Flow, StepKind
from review.i18n import N_
from review.pages import REPORT_KINDS, current_flow, own_consultation
from review.rendering import render
from review.security import VIEW, Staff, dashboard, page
from storage.models import (
    Consultation,
    ConsultationStatus,
    IdeaStatus,
    ReportState,
    StatementStatus,
)
from storage.views import dashboard as queries
from storage.views.roadmap import RoadmapFigures, figures

__all__ = ["Progress", "Stage", "routes", "stages"]


class Progress(StrEnum):
    """Where a stage stands; the value is the CSS class and, through N_, its label."""

    NOT_STARTED = "not_started"
    UNDER_WAY = "under_way"
    DONE = "done"


#: The label staff read for each status (translated in the template).
PROGRESS_LABELS = {
    Progress.NOT_STARTED: N_("Not started"),
    Progress.UNDER_WAY: N_("Under way"),
    Progress.DONE: N_("Done"),
}

#: A figure's value: a number, or a text marked with N_ (translated when shown).
Value = int | str


@dataclass(frozen=True)
class Stage:
    """One step from asking to acting: its name and purpose (N_ texts), where it
    stands, the figures behind that, what to do next, and the tools for it."""

    key: str
    title: str
    purpose: str
    progress: Progress
    figures: list[tuple[str, Value]]
    next_step: str | None
    links: list[tuple[str, str]]

    @property
    def progress_label(self) -> str:
        return PROGRESS_LABELS[self.progress]


def _state(started: bool, done: bool) -> Progress:
    if done:
        return Progress.DONE
    return Progress.UNDER_WAY if started else Progress.NOT_STARTED


def _on(flag: bool) -> str:
    return N_("on") if flag else N_("off")


def stages(
    consultation: Consultation,
    flow: Flow,
    counts: queries.Counts,
    numbers: RoadmapFigures,
    unread: int,
) -> list[Stage]:
    """The five stages and where `consultation` stands on each (pure: the page reads
    the data, this decides)."""
    base = f"/consultations/{consultation.slug}"
    published = (
        consultation.status != ConsultationStatus.DRAFT and consultation.current_version is not None
    )
    has_reports = any(s.kind in REPORT_KINDS for s in flow.questions)
    has_places = any(s.kind is StepKind.LOCATION for s in flow.questions)
    rankings = sum(1 for s in flow.questions if s.kind is StepKind.RANKING)
    reports = numbers.reports
    new_reports = reports.get(ReportState.NEW, 0)
    in_progress = reports.get(ReportState.IN_PROGRESS, 0)
    resolved = reports.get(ReportState.RESOLVED, 0)
    pending = numbers.statements.get(StatementStatus.PENDING, 0)
    approved = numbers.statements.get(StatementStatus.APPROVED, 0)
    ideas_open = numbers.ideas.get(IdeaStatus.TAKEN_UP, 0) + numbers.ideas.get(
        IdeaStatus.IN_PROGRESS, 0
    )
    ideas_done = numbers.ideas.get(IdeaStatus.DONE, 0)
    public = consultation.public_since is not None

    ask = Stage(
        key="ask",
        title=N_("Ask"),
        purpose=N_(
            "Invite people to take part: publish the questionnaire, share invite links through "
            "communities and their leaders, send broadcasts."
        ),
        progress=_state(published, published and counts.completed > 0),
        figures=[
            (N_("Consultation"), consultation.status),
            (N_("Invite links"), numbers.invite_links),
            (N_("Communities with an invite link"), numbers.communities),
            (N_("Invite links opened"), numbers.invite_opens),
            (N_("Broadcasts sent"), numbers.broadcasts_sent),
            (N_("Local leaders' messages sent"), numbers.leader_broadcasts_sent),
            (N_("Participants"), counts.started),
            (N_("Participants who finished"), counts.completed),
        ],
        next_step=(
            N_("Publish the questionnaire and open the consultation.")
            if not published
            else N_("Nobody has finished yet: share invite links or send a broadcast.")
            if counts.completed == 0
            else None
        ),
        links=[
            (N_("Publishing"), "/publish"),
            (N_("Communities and invite links"), "/communities"),
            (N_("Links"), f"{base}/links"),
            (N_("Partners"), f"{base}/partners"),
            (N_("Broadcasts"), f"{base}/broadcasts"),
            (N_("Translations"), f"{base}/translations"),
        ],
    )

    unread_texts = numbers.free_texts - numbers.coded
    listened = numbers.answers > 0 and unread_texts == 0 and new_reports == 0 and unread == 0
    listen_links = [
        (N_("Results"), base),
        (N_("Free-text answers"), f"{base}/texts"),
        *([(N_("Reports"), f"{base}/reports")] if has_reports else []),
        (N_("Replies"), "/replies"),
    ]
    listen = Stage(
        key="listen",
        title=N_("Listen"),
        purpose=N_(
            "Read what people said: the results, every free-text answer coded with tags or "
            "marks, every report looked at, every message answered."
        ),
        progress=_state(numbers.answers > 0, listened),
        figures=[
            (N_("Answers"), numbers.answers),
            (N_("Free-text answers"), numbers.free_texts),
            (N_("Free-text answers coded"), numbers.coded),
            (N_("Tags in the codebook"), numbers.tags),
            *(
                [(N_("Reports"), numbers.report_count), (N_("New reports"), new_reports)]
                if has_reports
                else []
            ),
            (N_("Replies sent to participants"), numbers.replies),
            (N_("Participants whose messages nobody has read"), unread),
        ],
        next_step=(
            None
            if numbers.answers == 0 or listened
            else N_("Code the free-text answers nobody has coded yet.")
            if unread_texts
            else N_("Look at the new reports.")
            if new_reports
            else N_("Read the messages participants sent.")
        ),
        links=listen_links,
    )

    decided = public and pending == 0
    decide = Stage(
        key="decide",
        title=N_("Decide with people"),
        purpose=N_(
            "Weigh the options with the people who took part: show them the results, let them "
            "rank options and vote on each other's statements."
        ),
        progress=_state(public or bool(numbers.statements) or numbers.votes > 0, decided),
        figures=[
            (N_("Public results page"), _on(public)),
            (N_("Questions on the public page"), len(consultation.public_steps) if public else 0),
            *(
                [(N_("Public list of reports"), _on(consultation.public_map_since is not None))]
                if has_places
                else []
            ),
            (N_("Ranking questions"), rankings),
            (N_("Statements awaiting moderation"), pending),
            (N_("Statements approved"), approved),
            (N_("Votes on statements"), numbers.votes),
        ],
        next_step=(
            N_("Moderate the statements that are waiting.")
            if pending
            else N_("Publish the results page, so people see what was said.")
            if not public
            else None
        ),
        links=[
            (N_("Public results page settings"), f"{base}#public"),
            *([(N_("Public results page"), f"/p/{consultation.slug}")] if public else []),
            (N_("Statements"), f"{base}/statements"),
            (N_("Two-way table"), f"{base}#two-way"),
            (N_("Segments"), f"{base}/broadcasts"),
        ],
    )

    acted_on = resolved > 0 or ideas_done > 0 or numbers.outcomes > 0
    still_open = new_reports + in_progress + ideas_open
    act = Stage(
        key="act",
        title=N_("Act"),
        purpose=N_(
            "Do something about it: resolve the reports, take ideas up, and write down what was "
            "decided and done."
        ),
        progress=_state(acted_on or in_progress > 0 or ideas_open > 0, acted_on and not still_open),
        figures=[
            *(
                [(N_("Reports in progress"), in_progress), (N_("Reports resolved"), resolved)]
                if has_reports
                else []
            ),
            (N_("Ideas taken up or in progress"), ideas_open),
            (N_("Ideas done"), ideas_done),
            (N_('Results written ("you said, we did")'), numbers.outcomes),
        ],
        next_step=(
            N_("Resolve the open reports and finish the ideas taken up.")
            if still_open
            else N_("Write down what came of it: a results message.")
            if not acted_on
            else None
        ),
        links=[
            *([(N_("Reports"), f"{base}/reports")] if has_reports else []),
            (N_("Answers flagged for a follow-up"), f"{base}/texts?flagged=1"),
            (N_("Results message"), f"{base}/broadcasts"),
        ],
    )

    told = numbers.results_sent > 0
    tell = Stage(
        key="tell",
        title=N_("Tell them what came of it"),
        purpose=N_(
            'Close the loop: send everyone who took part a "you said, we did" message, and '
            "follow up."
        ),
        progress=_state(told or numbers.outcomes > 0 or numbers.followups_sent > 0, told),
        figures=[
            (N_("Results messages sent"), numbers.results_sent),
            (N_("Results messages delivered"), numbers.results_delivered),
            (N_("Follow-up questionnaires sent"), numbers.followups_sent),
        ],
        next_step=None if told else N_("Send the results message to the participants."),
        links=[
            (N_("Results message"), f"{base}/broadcasts"),
            *([(N_("Public results page"), f"/p/{consultation.slug}")] if public else []),
            (N_("Replies"), "/replies"),
        ],
    )
    return [ask, listen, decide, act, tell]


@page(VIEW)
async def roadmap(request: Request, staff: Staff) -> Response:
    slug = request.path_params["slug"]
    async with dashboard(request).app.uow(read_only=True) as uow:
        found = await own_consultation(uow, staff, slug)
        flow = await current_flow(request, uow, found)
        counts = await uow.read(queries.counts, [found.id])
        numbers = await uow.read(
            figures,
            found.id,
            staff.organisation_id,
            text_steps=[s.id for s in flow.questions if s.kind is StepKind.TEXT],
            report_steps=[s.id for s in flow.questions if s.kind in REPORT_KINDS],
        )
        unread = await uow.threads.unread_in_consultation(staff.organisation_id, found.id)
    return render(
        request,
        "roadmap.html",
        consultation=found,
        stages=stages(found, flow, counts, numbers, unread),
    )


def routes() -> list[BaseRoute]:
    return [Route("/consultations/{slug}/roadmap", roadmap, methods=["GET"])]
