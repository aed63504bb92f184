"""Leader statistics: how many of a community's people opened the link, agreed, started
and finished a consultation, by language and by week. Counts only, never answers, and
no number below five is shown (so nobody can be singled out): such a cell reads "fewer
than 5", and when a breakdown would hide exactly one cell, its next smallest is hidden
too, so the hidden one cannot be worked out from the total.
"""

from __future__ import annotations

from collections import defaultdict

from dialogs.events import Translator
from konsulta.bootstrap import App
from konsulta.leaders.service import actor
from storage.models import Leader
from storage.repositories import FunnelRow
from storage.uow import UnitOfWork

__all__ = ["SMALLEST_SHOWN", "STAGES", "leader_stats", "stats_report", "suppress"]

SMALLEST_SHOWN = 5
STAGES = ("invited", "consented", "started", "completed")


def _(message: str) -> str:
    return message


STAGE_NAMES = {
    "invited": _("opened the link"),
    "consented": _("agreed to take part"),
    "started": _("started answering"),
    "completed": _("finished"),
}


def suppress(counts: dict[str, int]) -> dict[str, int | None]:
    """The counts to show: None for a group under five (and a second one if exactly
    one would be hidden, so it cannot be derived from the total)."""
    shown: dict[str, int | None] = {
        key: (n if n >= SMALLEST_SHOWN else None) for key, n in counts.items()
    }
    hidden = [key for key, n in shown.items() if n is None]
    if len(hidden) == 1 and len(counts) > 1:
        visible = sorted((n, key) for key, n in counts.items() if shown[key] is not None)
        if visible:
            shown[visible[0][1]] = None
    return shown


def _number(value: int | None, texts: Translator) -> str:
    return str(value) if value is not None else texts.gettext("fewer than 5")


def stats_report(title: str, rows: list[FunnelRow], texts: Translator) -> str:
    """The statistics message a leader sees for one consultation."""
    total: dict[str, int] = dict.fromkeys(STAGES, 0)
    by_language: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STAGES, 0))
    by_week: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STAGES, 0))
    for row in rows:
        total[row.stage] += row.count
        by_language[row.language][row.stage] += row.count
        by_week[row.week][row.stage] += row.count
    lines = [title, ""]
    for stage in STAGES:
        value = total[stage] if total[stage] >= SMALLEST_SHOWN else None
        lines.append(f"{texts.gettext(STAGE_NAMES[stage])}: {_number(value, texts)}")
    for heading, groups in (
        (texts.gettext("By language"), by_language),
        (texts.gettext("By week"), by_week),
    ):
        if not groups:
            continue
        lines += ["", heading]
        columns = {stage: suppress({k: v[stage] for k, v in groups.items()}) for stage in STAGES}
        for key in sorted(groups):
            cells = [
                f"{texts.gettext(STAGE_NAMES[stage])} {_number(columns[stage][key], texts)}"
                for stage in STAGES
            ]
            lines.append(f"{key}: " + ", ".join(cells))
    lines += [
        "",
        texts.gettext("Numbers under 5 are not shown, so that nobody can be recognised."),
    ]
    return "\n".join(lines)


async def leader_stats(
    app: App,
    uow: UnitOfWork,
    leader: Leader,
    community_id: int,
    consultation_key: str,
    language: str,
) -> str | None:
    """The report of one consultation for one of the leader's communities (0: all of
    them), audited; None if the leader leads none of them or there is no such
    consultation (a stale or forged button)."""
    communities = await uow.leaders.communities(leader)
    ids = [c.id for c in communities if community_id in (0, c.id)]
    consultation = (
        await uow.consultations.get(int(consultation_key)) if consultation_key.isdecimal() else None
    )
    organisations = {c.organisation_id for c in communities if c.id in ids}
    if not ids or consultation is None or consultation.organisation_id not in organisations:
        return None
    rows = await uow.communities.funnel(ids, consultation.id)
    names = ", ".join(c.name for c in communities if c.id in ids)
    title = f"{consultation.title} – {names}"
    current = await app.flows.current(uow, consultation)
    if current is not None:
        flow = current[1]
        title = f"{flow.localize(flow.title, language)} – {names}"
    await uow.leaders.audit(
        actor(leader), leader.organisation_id, "stats.view", consultation.slug, communities=ids
    )
    return stats_report(title, rows, app.texts(language))
