"""Leader broadcasts: compose (or pick an open consultation), preview per language,
pick languages, confirm; with the organisation's approval when it asks for one.

The `leader_broadcasts` row is the dialog's state (status composing -> draft ->
awaiting/sent), so a restart mid-dialog loses nothing. The citizen message is built by
one function, `citizen_payload`, for the preview and for the real thing, so the leader
sees exactly what their people will. Each step is an atomic status change, so a double
tap or two approvers at once send nothing twice, and every delivery row has a dedupe
key (broadcast, citizen): exactly once, also after a crash.

Delivery honours /stop (stopped citizens are not written to), blocked bots and quiet
hours (nothing arrives between 21:00 and 8:00 in the citizen's time zone; it waits for
the morning). These are the rules of the outreach broadcasts; when `outreach/`
offers its broadcast API, `_deliver` is the one place to hand over to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.app import App
from bot.leaders.callbacks import Act, LeaderAct
from bot.leaders.service import LeaderError, actor, flow_of
from storage.models import (
    Community,
    Consultation,
    ConsultationStatus,
    Leader,
    LeaderBroadcast,
    LeaderBroadcastStatus,
)
from storage.types import utcnow
from storage.uow import UnitOfWork

__all__ = [
    "QUIET_FROM",
    "QUIET_UNTIL",
    "Decision",
    "Request",
    "citizen_payload",
    "decide",
    "request",
    "start",
]

QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)
MAX_TEXT = 3000  # leaves room for the header and footer under Telegram's 4096

S = LeaderBroadcastStatus


def _(message: str) -> str:
    return message


async def start(
    uow: UnitOfWork, leader: Leader, community: Community, kind: str
) -> LeaderBroadcast:
    if kind not in {"message", "invite"}:
        raise LeaderError(f"unknown broadcast kind {kind!r}")
    broadcast = await uow.leader_broadcasts.create(leader, community, kind)
    await uow.leaders.audit(
        actor(leader),
        community.organisation_id,
        "broadcast.start",
        f"broadcast:{broadcast.id}",
        kind=kind,
        community=community.name,
    )
    return broadcast


async def set_text(uow: UnitOfWork, broadcast: LeaderBroadcast, text: str) -> None:
    broadcast.text = text.strip()[:MAX_TEXT]
    broadcast.status = S.DRAFT
    await uow.session.flush()


async def set_invitation(
    uow: UnitOfWork, broadcast: LeaderBroadcast, consultation: Consultation, link: str
) -> None:
    """An invitation carries its consultation and the community's invite link."""
    if consultation.status != ConsultationStatus.OPEN:
        raise LeaderError("consultation is not open")
    broadcast.consultation_id = consultation.id
    broadcast.text = link
    await uow.session.flush()


async def toggle_language(
    uow: UnitOfWork, broadcast: LeaderBroadcast, community: Community, language: str
) -> None:
    if language not in community.languages:
        return
    chosen = list(broadcast.languages)
    if language in chosen:
        chosen.remove(language)
    else:
        chosen.append(language)
    broadcast.languages = [lang for lang in community.languages if lang in chosen]
    await uow.session.flush()


async def citizen_payload(
    app: App, uow: UnitOfWork, broadcast: LeaderBroadcast, community: Community, language: str
) -> dict[str, Any]:
    """The message a citizen gets (and the leader previews), in `language`."""
    texts = app.texts(language)
    footer = texts.gettext(
        "You get this because you took part through {community}. "
        "Send /stop to get no more messages."
    ).format(community=community.name)
    buttons: list[dict[str, Any]] = []
    if broadcast.kind == "invite" and broadcast.consultation_id is not None:
        consultation = await uow.consultations.get(broadcast.consultation_id)
        assert consultation is not None
        flow = await flow_of(app, uow, consultation)
        flow_language = language if language in flow.languages else flow.default_language
        parts = [
            texts.gettext("{community} invites you to a consultation:").format(
                community=community.name
            ),
            flow.localize(flow.title, flow_language),
        ]
        if flow.description is not None:
            parts.append(flow.localize(flow.description, flow_language))
        link = broadcast.text or ""
        parts.append(texts.gettext("Take part here: {link}").format(link=link))
        buttons.append({"key": "go", "label": texts.gettext("Take part"), "url": link})
    else:
        parts = [
            texts.gettext("A message from {community}:").format(community=community.name),
            broadcast.text or "",
        ]
    parts.append(footer)
    return {
        "language": language,
        "text": "\n\n".join(parts),
        "role": "broadcast",
        "buttons": buttons,
    }


def _button(label: str, act: str, item: int, arg: str = "") -> dict[str, Any]:
    return {"key": act, "label": label, "callback": LeaderAct(act=act, id=item, arg=arg).pack()}


def draft_panel(
    app: App, broadcast: LeaderBroadcast, community: Community, language: str
) -> dict[str, Any]:
    """The leader's control message: languages to toggle, preview, send, cancel."""
    texts = app.texts(language)
    buttons = [
        {
            **_button(lang.upper(), Act.BROADCAST_LANGUAGE, broadcast.id, lang),
            "selected": lang in broadcast.languages,
        }
        for lang in community.languages
    ]
    buttons += [
        _button(texts.gettext("👀 Preview"), Act.BROADCAST_PREVIEW, broadcast.id),
        _button(texts.gettext("📨 Send"), Act.BROADCAST_SEND, broadcast.id),
        _button(texts.gettext("✖ Cancel"), Act.BROADCAST_CANCEL, broadcast.id),
    ]
    text = texts.gettext(
        "Your message to {community} is ready. Tap the languages to send it in, "
        "look at the preview, then send."
    ).format(community=community.name)
    return {"language": language, "text": text, "role": "question", "buttons": buttons}


async def preview(
    app: App, uow: UnitOfWork, broadcast: LeaderBroadcast, community: Community, language: str
) -> list[dict[str, Any]]:
    """A heading per language, then the citizen message exactly as it will look."""
    texts = app.texts(language)
    payloads: list[dict[str, Any]] = []
    for lang in broadcast.languages:
        heading = texts.gettext("Preview ({language}):").format(language=lang.upper())
        payloads.append({"language": language, "text": heading, "role": "notice"})
        payloads.append(await citizen_payload(app, uow, broadcast, community, lang))
    return payloads


@dataclass(frozen=True)
class Request:
    """What happened when the leader tapped Send."""

    outcome: str  # sent, awaiting, limit, nothing, gone
    recipients: int = 0
    approvers: tuple[int, ...] = ()


async def request(app: App, uow: UnitOfWork, broadcast: LeaderBroadcast, leader: Leader) -> Request:
    """Send now, or ask the organisation's approvers, within the daily limit."""
    if broadcast.status != S.DRAFT:
        return Request("gone")
    if not broadcast.languages or not broadcast.text:
        return Request("nothing")
    since = utcnow() - timedelta(days=1)
    used = await uow.leader_broadcasts.requested_since(leader.id, since)
    if used >= app.settings.leader_daily_broadcasts:
        await uow.leaders.audit(
            actor(leader), broadcast.organisation_id, "broadcast.limit", f"broadcast:{broadcast.id}"
        )
        return Request("limit")
    now = utcnow()
    if await uow.leaders.approval_required(broadcast.organisation_id):
        if not await uow.leader_broadcasts.transition(
            broadcast.id, [S.DRAFT], S.AWAITING_APPROVAL, requested_at=now
        ):
            return Request("gone")
        await uow.leaders.audit(
            actor(leader),
            broadcast.organisation_id,
            "broadcast.request",
            f"broadcast:{broadcast.id}",
            languages=broadcast.languages,
        )
        approvers = await _ask_approvers(app, uow, broadcast)
        return Request("awaiting", approvers=tuple(approvers))
    if not await uow.leader_broadcasts.transition(
        broadcast.id, [S.DRAFT], S.SENT, requested_at=now, decided_at=now, sent_at=now
    ):
        return Request("gone")
    count = await _deliver(app, uow, broadcast)
    await uow.leaders.audit(
        actor(leader),
        broadcast.organisation_id,
        "broadcast.send",
        f"broadcast:{broadcast.id}",
        languages=broadcast.languages,
        recipients=count,
    )
    return Request("sent", count)


async def _ask_approvers(app: App, uow: UnitOfWork, broadcast: LeaderBroadcast) -> list[int]:
    community = await uow.communities.get(broadcast.community_id)
    assert community is not None
    approvers = await uow.leaders.approver_chats(broadcast.organisation_id)
    for citizen_id, chat_id in approvers:
        approver = await uow.citizens.get(citizen_id)
        language = (approver.language if approver else None) or app.settings.default_language
        texts = app.texts(language)
        people = len(await uow.communities.member_citizens(community.id, broadcast.languages))
        intro = texts.ngettext(
            "A leader of {community} asks to send this to {count} person:",
            "A leader of {community} asks to send this to {count} people:",
            people,
        ).format(community=community.name, count=people)
        await uow.outbox.enqueue(chat_id, "notice", {"language": language, "text": intro})
        for payload in await preview(app, uow, broadcast, community, language):
            await uow.outbox.enqueue(chat_id, "notice", payload)
        question = {
            "language": language,
            "text": texts.gettext("Send it?"),
            "role": "question",
            "buttons": [
                _button(texts.gettext("✅ Approve"), Act.APPROVE, broadcast.id, "y"),
                _button(texts.gettext("✖ Reject"), Act.APPROVE, broadcast.id, "n"),
            ],
        }
        await uow.outbox.enqueue(chat_id, "notice", question)
    return [chat for _citizen, chat in approvers]


@dataclass(frozen=True)
class Decision:
    outcome: str  # sent, rejected, gone, forbidden
    recipients: int = 0
    leader_chat: int | None = None


async def decide(
    app: App, uow: UnitOfWork, broadcast_id: int, approved: bool, *, by: str
) -> Decision:
    """An approver's (or the dashboard's) decision; the leader is told either way.

    `by` names who decided for the audit log ("approver:<citizen id>", a staff e-mail).
    Checking that `by` may decide is the caller's job (`may_approve` for Telegram).
    """
    broadcast = await uow.leader_broadcasts.get(broadcast_id)
    if broadcast is None:
        return Decision("gone")
    now = utcnow()
    new = S.SENT if approved else S.REJECTED
    values: dict[str, Any] = {"decided_at": now, "decided_by": by[:100]}
    if approved:
        values["sent_at"] = now
    if not await uow.leader_broadcasts.transition(
        broadcast.id, [S.AWAITING_APPROVAL], new, **values
    ):
        return Decision("gone")
    count = await _deliver(app, uow, broadcast) if approved else 0
    await uow.leaders.audit(
        by,
        broadcast.organisation_id,
        "broadcast.approve" if approved else "broadcast.reject",
        f"broadcast:{broadcast.id}",
        recipients=count,
    )
    leader = await uow.leaders.get(broadcast.leader_id)
    chat = None
    if leader is not None:
        chat = await uow.citizens.chat_id(leader.citizen_id)
        citizen = await uow.citizens.get(leader.citizen_id)
        language = (citizen.language if citizen else None) or app.settings.default_language
        texts = app.texts(language)
        if approved:
            text = texts.ngettext(
                "Your message was approved and is going to {count} person.",
                "Your message was approved and is going to {count} people.",
                count,
            ).format(count=count)
        else:
            text = texts.gettext("Your message was not approved, so it was not sent.")
        if chat is not None:
            await uow.outbox.enqueue(
                chat, "notice", {"language": language, "text": text, "role": "notice"}
            )
    return Decision("sent" if approved else "rejected", count, chat)


async def may_approve(uow: UnitOfWork, broadcast_id: int, citizen_id: int) -> bool:
    broadcast = await uow.leader_broadcasts.get(broadcast_id)
    return broadcast is not None and await uow.leaders.is_approver(
        broadcast.organisation_id, citizen_id
    )


def after_quiet_hours(now: datetime, zone: str) -> datetime:
    """`now`, or the next 8:00 in the citizen's zone if `now` is in their night."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = now.astimezone(tz)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return now
    morning = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(morning, QUIET_UNTIL, tzinfo=tz).astimezone(now.tzinfo)


async def _deliver(app: App, uow: UnitOfWork, broadcast: LeaderBroadcast) -> int:
    """One outbox row per person, deduplicated on (broadcast, citizen)."""
    community = await uow.communities.get(broadcast.community_id)
    assert community is not None
    members = await uow.communities.member_citizens(community.id, broadcast.languages)
    payloads: dict[str, dict[str, Any]] = {}
    now = utcnow()
    count = 0
    for citizen_id, chat_id, language in members:
        if language not in payloads:
            payloads[language] = await citizen_payload(app, uow, broadcast, community, language)
        citizen = await uow.citizens.get(citizen_id)
        zone = citizen.timezone if citizen else app.settings.default_timezone
        queued = await uow.outbox.enqueue(
            chat_id,
            "broadcast",
            payloads[language],
            citizen_id=citizen_id,
            due_at=after_quiet_hours(now, zone),
            dedupe_key=f"leader-broadcast:{broadcast.id}:{citizen_id}",
        )
        count += queued is not None
    broadcast.recipients = count
    await uow.session.flush()
    return count
