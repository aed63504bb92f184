"""Leader broadcasts: compose (or pick an open consultation), preview per language,
pick languages, confirm; with the organisation's approval when it asks for one.

The `leader_broadcasts` row is the dialog's state (status composing -> draft ->
awaiting/sent), so a restart mid-dialog loses nothing. The citizen message is built by
one function, `citizen_payload`, for the preview and for the real thing, so the leader
sees exactly what their people will. Each step is an atomic status change, so a double
tap or two approvers at once send nothing twice.

Sending is the outreach broadcast machinery's (outreach/broadcasts.py): the step that
marks the row sent also creates and schedules an outreach broadcast (kind `leader`,
segment: the community and the chosen languages, the texts and buttons exactly as
previewed) and writes its id into `outreach_broadcast_id`, all in the caller's one
transaction, so a crash right after approval neither loses nor doubles the hand-off.
Outreach then gives it /stop, blocked bots, quiet hours in each citizen's time zone
(from settings), one delivery per (broadcast, citizen), cancel and progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from konsulta import broadcasts as outreach
from konsulta.bootstrap import App
from konsulta.leaders.actions import LeaderAction as Act
from konsulta.leaders.actions import leader_callback
from konsulta.leaders.service import (
    LeaderError,
    actor,
    deep_link,
    flow_of,
    invite_link,
    own_community,
)
from konsulta.outbound import OutboundButton, OutboundMessage
from storage.models import (
    Community,
    Consultation,
    ConsultationStatus,
    Leader,
    LeaderBroadcast,
    LeaderBroadcastStatus,
    OutboxKind,
)
from storage.segments import parse_segment, recipients, spoken_language
from storage.types import utcnow
from storage.uow import UnitOfWork

__all__ = [
    "Decision",
    "Request",
    "cancel",
    "choose_consultation",
    "citizen_payload",
    "decide",
    "editable",
    "leader_preview",
    "own_broadcast",
    "request",
    "start",
    "write_text",
]

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
    await uow.flush()


async def write_text(
    uow: UnitOfWork, leader: Leader, text: str
) -> tuple[LeaderBroadcast, Community] | None:
    """The text the leader typed becomes their composing message's; None if they are
    composing none (any more)."""
    broadcast = await uow.leader_broadcasts.composing(leader.id)
    community = await uow.communities.get(broadcast.community_id) if broadcast else None
    if broadcast is None or community is None:
        return None
    await set_text(uow, broadcast, text)
    return broadcast, community


async def own_broadcast(
    uow: UnitOfWork, leader: Leader, broadcast_id: int
) -> tuple[LeaderBroadcast, Community] | None:
    """The leader's broadcast a button names, with its community, if the leader still
    leads it (a button's data comes from the phone and is not trusted)."""
    broadcast = await uow.leader_broadcasts.get(broadcast_id)
    if broadcast is None or broadcast.leader_id != leader.id:
        return None
    community = await own_community(uow, leader, broadcast.community_id)
    if community is None:
        return None
    return broadcast, community


def editable(broadcast: LeaderBroadcast) -> bool:
    """Still being written or reviewed by the leader (not sent, awaiting or cancelled)."""
    return broadcast.status in {S.DRAFT, S.COMPOSING}


async def cancel(uow: UnitOfWork, leader: Leader, broadcast: LeaderBroadcast) -> bool:
    """Drop an unsent broadcast; False if it was already sent, awaiting or cancelled."""
    if not await uow.leader_broadcasts.transition(
        broadcast.id, [S.DRAFT, S.COMPOSING], S.CANCELLED
    ):
        return False
    await uow.leaders.audit(
        actor(leader), broadcast.organisation_id, "broadcast.cancel", f"broadcast:{broadcast.id}"
    )
    return True


async def choose_consultation(
    uow: UnitOfWork,
    leader: Leader,
    broadcast: LeaderBroadcast,
    community: Community,
    consultation: Consultation,
    bot_username: str,
) -> bool:
    """An invitation gets its consultation and the community's link; False if the
    broadcast is the leader's own words, not an invitation."""
    if broadcast.kind != "invite":
        return False
    link = await invite_link(uow, consultation, community, leader)
    await set_invitation(uow, broadcast, consultation, deep_link(bot_username, link.payload))
    return True


async def set_invitation(
    uow: UnitOfWork, broadcast: LeaderBroadcast, consultation: Consultation, link: str
) -> None:
    """An invitation carries its consultation and the community's invite link."""
    if consultation.status != ConsultationStatus.OPEN:
        raise LeaderError("consultation is not open")
    broadcast.consultation_id = consultation.id
    broadcast.text = link
    await uow.flush()


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
    await uow.flush()


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


def _button(label: str, act: Act, item: int, arg: str = "") -> dict[str, Any]:
    return {"key": act, "label": label, "callback": leader_callback(act, item, arg)}


def _typed_button(label: str, act: Act, item: int, arg: str = "") -> OutboundButton:
    return OutboundButton(act, label, callback=leader_callback(act, item, arg))


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


async def leader_preview(
    app: App,
    uow: UnitOfWork,
    leader: Leader,
    broadcast: LeaderBroadcast,
    community: Community,
    language: str,
) -> list[dict[str, Any]]:
    """What the leader sees on Preview: each chosen language's message, then the draft
    panel again (audited: the log shows what the leader looked at before sending)."""
    shown = await preview(app, uow, broadcast, community, language)
    await uow.leaders.audit(
        actor(leader),
        broadcast.organisation_id,
        "broadcast.preview",
        f"broadcast:{broadcast.id}",
        languages=broadcast.languages,
    )
    return [*shown, draft_panel(app, broadcast, community, language)]


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
    count = await _hand_off(app, uow, broadcast)
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
    people = await _audience(uow, broadcast)
    for citizen_id, chat_id in approvers:
        approver = await uow.citizens.get(citizen_id)
        approver_bot = await uow.citizens.bot_of(citizen_id)  # the bot they talk to
        language = (approver.language if approver else None) or app.settings.default_language
        texts = app.texts(language)
        intro = texts.ngettext(
            "A leader of {community} asks to send this to {count} person:",
            "A leader of {community} asks to send this to {count} people:",
            people,
        ).format(community=community.name, count=people)
        shown = [
            OutboundMessage(intro, language),
            *map(
                OutboundMessage.from_payload,
                await preview(app, uow, broadcast, community, language),
            ),
            OutboundMessage(
                texts.gettext("Send it?"),
                language,
                role="question",
                buttons=(
                    _typed_button(texts.gettext("✅ Approve"), Act.APPROVE, broadcast.id, "y"),
                    _typed_button(texts.gettext("✖ Reject"), Act.APPROVE, broadcast.id, "n"),
                ),
            ),
        ]
        for message in shown:
            await uow.outbox.enqueue(
                chat_id, OutboxKind.NOTICE, message.to_payload(), bot=approver_bot
            )
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
    count = await _hand_off(app, uow, broadcast) if approved else 0
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
            notice = OutboundMessage(text, language, role="notice")
            bot = await uow.citizens.bot_of(leader.citizen_id)
            await uow.outbox.enqueue(chat, OutboxKind.NOTICE, notice.to_payload(), bot=bot)
    return Decision("sent" if approved else "rejected", count, chat)


async def may_approve(uow: UnitOfWork, broadcast_id: int, citizen_id: int) -> bool:
    broadcast = await uow.leader_broadcasts.get(broadcast_id)
    return broadcast is not None and await uow.leaders.is_approver(
        broadcast.organisation_id, citizen_id
    )


def _segment(broadcast: LeaderBroadcast) -> dict[str, Any]:
    """Who gets it: people who took part through the community, in the chosen languages."""
    return {"all": [{"community": broadcast.community_id}, {"language": list(broadcast.languages)}]}


async def _audience(uow: UnitOfWork, broadcast: LeaderBroadcast) -> int:
    """How many the outreach segment reaches now (outreach skips /stop and blocked)."""
    default = broadcast.languages[0]
    where = await uow.read(
        recipients,
        parse_segment(_segment(broadcast)),
        default_language=default,
        organisation_id=broadcast.organisation_id,
    )
    counts = await uow.broadcasts.languages(where, spoken_language(default))
    return sum(counts.values())


async def _hand_off(app: App, uow: UnitOfWork, broadcast: LeaderBroadcast) -> int:
    """Create and schedule the outreach broadcast that sends it, in the caller's
    transaction (the one that marked the row sent); returns the recipients now."""
    community = await uow.communities.get(broadcast.community_id)
    assert community is not None
    texts: dict[str, str] = {}
    buttons: dict[str, list[dict[str, Any]]] = {}
    for language in broadcast.languages:
        payload = await citizen_payload(app, uow, broadcast, community, language)
        texts[language] = payload["text"]
        if payload["buttons"]:
            buttons[language] = payload["buttons"]
    outgoing = await outreach.create_in(
        app,
        uow,
        name=f"Leader broadcast {broadcast.id} ({community.name})"[:200],
        organisation_id=community.organisation_id,
        segment=_segment(broadcast),
        texts=texts,
        default_language=broadcast.languages[0],
        kind="leader",
        buttons=buttons or None,
    )
    await outreach.schedule_in(app, uow, outgoing.id)
    broadcast.outreach_broadcast_id = outgoing.id
    broadcast.recipients = await _audience(uow, broadcast)
    await uow.flush()
    return broadcast.recipients
