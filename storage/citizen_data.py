"""Everything stored about one citizen, for /mydata (the right of access).

Built from the same tables erasure clears, so what a citizen sees is exactly what
`CitizenRepository.erase` deletes. Only this citizen's rows are read; the result is
plain JSON (datetimes as ISO 8601 UTC strings).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    Citizen,
    CitizenChannel,
    ConsentRecord,
    Consultation,
    FlowVersion,
    OutboxMessage,
    OutboxStatus,
    Run,
    ThreadMessage,
)

__all__ = ["citizen_data"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def citizen_data(session: AsyncSession, citizen_id: int) -> dict[str, Any]:
    """A JSON-serialisable dict of the citizen's profile, channels, consents and runs
    with answers. Raises LookupError if there is no such citizen."""
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise LookupError(f"no citizen {citizen_id}")
    channels = (
        await session.scalars(
            select(CitizenChannel)
            .where(CitizenChannel.citizen_id == citizen_id)
            .order_by(CitizenChannel.id)
        )
    ).all()
    consents = (
        await session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.citizen_id == citizen_id)
            .order_by(ConsentRecord.id)
        )
    ).all()
    runs = (
        await session.execute(
            select(Run, Consultation.slug, Consultation.title, FlowVersion.version)
            .join(Consultation, Consultation.id == Run.consultation_id)
            .join(FlowVersion, FlowVersion.id == Run.flow_version_id)
            .where(Run.citizen_id == citizen_id)
            .order_by(Run.id)
        )
    ).all()
    answers_by_run: dict[int, list[dict[str, Any]]] = {run.id: [] for run, *_ in runs}
    if answers_by_run:
        answers = await session.scalars(
            select(Answer)
            .where(Answer.run_id.in_(list(answers_by_run)))
            .order_by(Answer.run_id, Answer.answered_at, Answer.id)
        )
        for answer in answers:
            answers_by_run[answer.run_id].append(
                {
                    "step": answer.step_id,
                    "value": answer.value,
                    "text": answer.display_text,
                    "skipped": answer.skipped,
                    "answered_at": _iso(answer.answered_at),
                }
            )
    thread = (
        await session.scalars(
            select(ThreadMessage)
            .where(ThreadMessage.citizen_id == citizen_id)
            .order_by(ThreadMessage.id)
        )
    ).all()
    waiting = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.citizen_id == citizen_id, OutboxMessage.status == OutboxStatus.PENDING)
    )
    return {
        "participant_id": citizen.participant_id,
        "language": citizen.language,
        "timezone": citizen.timezone,
        "stopped": citizen.stopped,
        "unreachable": citizen.unreachable,
        "no_reminders": citizen.no_reminders,
        "named_consent": citizen.named_consent,
        "read_aloud": citizen.read_aloud,
        "created_at": _iso(citizen.created_at),
        "last_seen_at": _iso(citizen.last_seen_at),
        "channels": [
            {
                "channel": channel.channel,
                "user_id": channel.channel_user_id,
                "chat_id": channel.chat_id,
                "display_name": channel.display_name,
            }
            for channel in channels
        ],
        "consents": [
            {
                "purpose": consent.purpose,
                "granted": consent.granted,
                "text_version": consent.text_version,
                "consultation_id": consent.consultation_id,
                "at": _iso(consent.created_at),
            }
            for consent in consents
        ],
        "runs": [
            {
                "consultation": slug,
                "title": title,
                "flow_version": version,
                "status": run.status,
                "language": run.language,
                "source": run.source,
                "started_at": _iso(run.started_at),
                "completed_at": _iso(run.completed_at),
                "answers": answers_by_run[run.id],
            }
            for run, slug, title, version in runs
        ],
        "messages_with_staff": [
            {"direction": m.direction, "text": m.text, "at": _iso(m.created_at)} for m in thread
        ],
        "messages_waiting": int(waiting or 0),
    }
