"""Results, "you said, we did": staff tell everyone who took part what came of it.

An outcome is written per consultation, in as many languages as staff like, and
optionally for a segment only (e.g. the residents of one district). It goes out as a
broadcast of kind `result` to the consultation's participants (finished or not, and
not opted out) within that segment: each in their language when staff wrote it, else
in the consultation's default language, framed by the bot's own words from gettext.
Sending, previews, status and cancelling are the broadcast ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from konsulta.bootstrap import App
from konsulta.broadcasts import BroadcastError, create
from storage.models import Broadcast, Outcome
from storage.segments import Segment, parse_segment

__all__ = ["OutcomeView", "add_outcome", "list_outcomes"]


@dataclass(frozen=True)
class OutcomeView:
    outcome: Outcome
    consultation: str
    broadcast: Broadcast | None


async def add_outcome(
    app: App,
    consultation: str,
    texts: dict[str, str],
    *,
    segment: dict[str, Any] | None = None,
) -> tuple[Outcome, Broadcast]:
    """Record an outcome and prepare its broadcast (a draft: preview, then send)."""
    async with app.uow() as uow:
        found = await uow.consultations.get_by_slug(consultation)
        if found is None:
            raise BroadcastError(f"no consultation '{consultation}'")
        current = await app.flows.current(uow, found)
        default = app.settings.default_language
        if current is not None:
            default = current[1].default_language
    if default not in texts:
        default = next(iter(texts), default)
    took_part: dict[str, Any] = {"consultation": consultation}
    audience: Segment = parse_segment(
        {"all": [took_part, segment]} if segment is not None else took_part
    )
    broadcast = await create(
        app,
        name=f"results of {consultation}",
        organisation_id=found.organisation_id,
        segment=audience,
        texts=texts,
        default_language=default,
        kind="result",
        consultation_id=found.id,
    )
    async with app.uow() as uow:
        outcome = Outcome(
            consultation_id=found.id,
            texts=texts,
            segment=segment,
            broadcast_id=broadcast.id,
            created_at=app.clock.now(),
        )
        uow.add(outcome)
        await uow.commit()
    return outcome, broadcast


async def list_outcomes(app: App, consultation: str | None = None) -> list[OutcomeView]:
    async with app.uow() as uow:
        consultation_id = None
        if consultation is not None:
            found = await uow.consultations.get_by_slug(consultation)
            if found is None:
                raise BroadcastError(f"no consultation '{consultation}'")
            consultation_id = found.id
        views = []
        for outcome in await uow.broadcasts.outcomes(consultation_id):
            owner = await uow.consultations.get(outcome.consultation_id)
            broadcast = (
                await uow.broadcasts.get(outcome.broadcast_id) if outcome.broadcast_id else None
            )
            views.append(OutcomeView(outcome, owner.slug if owner else "?", broadcast))
        return views
