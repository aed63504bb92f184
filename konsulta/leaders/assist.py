"""Assisted participation: a leader helps a person without a phone answer, on the
leader's phone.

The person becomes a new pseudonymous participant: a citizen row with no channel
mapping (so no Telegram id at all) marked `assisted_by` the leader. While the leader
helps, their chat carries that person's dialog: the consent text (the leader reads it
aloud and taps "Yes" only if the person agrees aloud), then the questions. The answers
belong to the person, not the leader: the leader's /mydata does not contain them, and
no leader command shows answers. When the dialog ends the leader's chat is theirs again.
"""

from __future__ import annotations

import base64
import secrets

from konsulta.bootstrap import App
from konsulta.conversations import Who
from konsulta.leaders.service import actor
from storage.models import Citizen, Community, Consultation, Leader
from storage.types import utcnow
from storage.uow import UnitOfWork

__all__ = ["assisted_who", "begin", "end", "stop", "switch_to"]


def _participant_id() -> str:
    """A random participant id ("a-" + 16 base32 letters): nothing to derive it from."""
    return "a-" + base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()


async def begin(
    app: App,
    uow: UnitOfWork,
    leader: Leader,
    community: Community,
    consultation: Consultation,
) -> Citizen:
    """A new assisted participant, and the leader switched to helping them."""
    now = utcnow()
    person = Citizen(
        participant_id=_participant_id(),
        timezone=app.settings.default_timezone,
        assisted_by=leader.id,
        created_at=now,
        last_seen_at=now,
    )
    uow.add(person)
    await uow.flush()
    await uow.leaders.set_assisting(leader, person.id)
    await uow.leaders.audit(
        actor(leader),
        community.organisation_id,
        "assist.start",
        person.participant_id,
        consultation=consultation.slug,
        community=community.name,
    )
    return person


def assisted_who(leader_who: Who, person_id: int) -> Who:
    """The assisted person as the conversation service sees them: their own citizen
    row, the leader's chat and language."""
    return Who(
        "assisted",
        0,
        leader_who.chat_id,
        leader_who.language_code,
        citizen_id=person_id,
    )


async def end(uow: UnitOfWork, leader: Leader, *, completed: bool) -> None:
    """The leader stops helping. A person who never agreed leaves nothing behind."""
    person_id = leader.assisting_citizen_id
    await uow.leaders.set_assisting(leader, None)
    if person_id is None:
        return
    person = await uow.citizens.get(person_id)
    runs = await uow.runs.list_for_citizen(person_id)
    # Audited first: an erasure right after replaces the participant id in it too.
    await uow.leaders.audit(
        actor(leader),
        leader.organisation_id,
        "assist.end",
        person.participant_id if person else None,
        completed=completed,
    )
    if person is not None and not any(run.consent_record_id for run in runs):
        await uow.citizens.erase(person)


async def switch_to(
    app: App, uow: UnitOfWork, leader_id: int, community: Community, consultation: Consultation
) -> Citizen | None:
    """The leader starts helping a new person (whoever they helped before is let go);
    None if they are no longer a leader."""
    leader = await uow.leaders.get(leader_id)
    if leader is None:
        return None
    if leader.assisting_citizen_id is not None:
        await end(uow, leader, completed=False)
    return await begin(app, uow, leader, community, consultation)


async def stop(uow: UnitOfWork, leader_id: int, *, completed: bool) -> None:
    """`end` for the leader as stored now (the handler's copy may be stale)."""
    leader = await uow.leaders.get(leader_id)
    assert leader is not None
    await end(uow, leader, completed=completed)
