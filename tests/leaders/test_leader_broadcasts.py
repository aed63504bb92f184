"""A leader writes to their community from Telegram: preview per language, approval by
the organisation's staff, a daily limit; the message goes out through the outreach
broadcast machinery (/stop, quiet hours, exactly one message per person)."""

from __future__ import annotations

from datetime import timedelta

from database_checks import session_of
from leader_world import COMMUNITY, ORGANISATION, Phone, World, zone_at
from sqlalchemy import func, select, update

from dialogs.events import ButtonPress
from konsulta.conversations import AGREE, CONSENT_STEP, Conversations, Who
from konsulta.leaders.broadcasts import decide
from konsulta.leaders.service import invite_link
from konsulta.privacy import set_stopped
from storage.models import (
    AuditEntry,
    Broadcast,
    BroadcastDelivery,
    Citizen,
    LeaderBroadcast,
    OutboxMessage,
)


async def join_through_link(world: World, user_id: int, language: str) -> Phone:
    """Someone scanned the co-op's poster and agreed to take part."""
    phone = world.phone(user_id, language)
    async with world.app.uow() as uow:
        organisation = await uow.organisations.get_by_slug(ORGANISATION)
        assert organisation is not None
        community = await uow.communities.find(organisation.id, COMMUNITY)
        consultation = await uow.consultations.get_by_slug("co-op-homes")
        assert community is not None and consultation is not None
        link = await invite_link(uow, consultation, community, None)
        await uow.commit()
    conversations = Conversations(world.app)
    who = Who("telegram", user_id, user_id, language)
    await conversations.open(who, link.payload, source="link", delivery=None)
    await conversations.handle(who, ButtonPress(CONSENT_STEP, AGREE), delivery=None)
    return phone


async def outreach_broadcasts(world: World) -> list[Broadcast]:
    async with world.app.uow() as uow:
        return list((await session_of(uow).execute(select(Broadcast))).scalars())


async def until(world: World, phone: Phone, text: str) -> str:
    """Wait until some message in the chat (new or edited) contains `text`."""

    def found() -> bool:
        return any(text in t for t in phone.texts())

    assert await world.emu.state.wait_until(found, 20), phone.texts()
    return next(t for t in phone.texts() if text in t)


async def test_a_message_waits_for_approval_then_reaches_each_person_once(world: World) -> None:
    anna = await join_through_link(world, 5001, "en")
    jan = await join_through_link(world, 5002, "pl")
    quiet = await join_through_link(world, 5003, "en")
    await set_stopped(world.app, Who("telegram", 5003, 5003), True)
    approver = world.phone(4001)
    await approver.send("/help")
    await approver.expect()
    async with world.app.uow() as uow:
        organisation = await uow.organisations.get_by_slug(ORGANISATION)
        secret = world.app.settings.pseudonym_secret.get_secret_value()
        staff = await uow.citizens.get_or_create(4001, 4001, secret=secret)
        assert organisation is not None and staff is not None
        await uow.leaders.add_approver(organisation.id, staff.id)
        await uow.leaders.set_approval_required(organisation.id, True)
        await uow.commit()
    leader = await world.make_leader(1001)

    await leader.send("/broadcast")
    [kinds] = await leader.expect()
    await leader.tap(kinds, "Write a message")
    [prompt] = await leader.expect()
    assert "Type your message" in (prompt.text or "")
    await leader.send("Coffee and cake on Friday at 10 in the club room.")
    [panel] = await leader.expect()
    await leader.tap(panel, "Preview")
    shown = await leader.expect(5)
    previews = {shown[0].text: shown[1].text, shown[2].text: shown[3].text}
    assert set(previews) == {"ℹ️ Preview (PL):", "ℹ️ Preview (EN):"}
    assert "Coffee and cake" in (previews["ℹ️ Preview (EN):"] or "")
    await leader.tap(shown[4], "Send")
    await until(world, leader, "approves messages before they go out")
    await approver.expect(6)  # who asks, two previews with headings, the question
    await world.later(timedelta(hours=1))
    assert anna.messages() == [] and jan.messages() == []  # nothing before approval
    assert await outreach_broadcasts(world) == []

    # The approving process dies before its transaction commits: nothing was handed
    # over, and the broadcast still waits for a decision.
    async with world.app.uow() as uow:
        [waiting] = (await session_of(uow).execute(select(LeaderBroadcast))).scalars()
        assert (await decide(world.app, uow, waiting.id, True, by="crash")).outcome == "sent"
    assert await outreach_broadcasts(world) == []

    question = approver.messages()[-1]
    rows = (question.reply_markup or {})["inline_keyboard"]
    [approve, _reject] = [row[0]["callback_data"] for row in rows]
    await approver.tap(question, "Approve")
    await until(world, approver, "Approved. It is going to 2 people.")
    # A second tap (a slow phone, or a second approver) decides nothing again.
    await world.emu.citizens.tap(4001, question.message_id, approve)
    await until(world, approver, "already decided")
    await until(world, leader, "approved and is going to 2 people")
    [handed] = await outreach_broadcasts(world)  # one outreach broadcast, linked
    async with world.app.uow() as uow:
        [linked] = (await session_of(uow).execute(select(LeaderBroadcast))).scalars()
    assert linked.status == "sent" and linked.outreach_broadcast_id == handed.id
    # Scheduled for now: the bot's own one-second broadcast job may already have
    # started (or even finished) it by the time the test looks.
    assert handed.kind == "leader" and handed.status in {"scheduled", "running", "done"}
    await world.tick()  # outreach starts it, writes the recipients, queues them
    await world.later(timedelta(hours=1))  # and finishes; nothing goes twice
    [to_anna] = anna.messages()
    [to_jan] = jan.messages()
    assert to_anna.text == previews["ℹ️ Preview (EN):"]  # exactly what the leader saw
    assert to_jan.text == previews["ℹ️ Preview (PL):"]
    assert quiet.messages() == []  # said /stop
    async with world.app.uow() as uow:
        rows = await session_of(uow).scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "broadcast")
        )
        deliveries = (await session_of(uow).execute(select(BroadcastDelivery))).scalars().all()
        [done] = (await session_of(uow).execute(select(Broadcast))).scalars()
    assert rows == 2
    assert sorted(d.status for d in deliveries) == ["sent", "sent"]  # no row for /stop
    assert done.status == "done"

    # One broadcast a day is this deployment's limit.
    world.app.settings.leader_daily_broadcasts = 1
    await leader.send("/broadcast")
    [kinds] = (await leader.expect(2))[-1:]
    await leader.tap(kinds, "Invite to a consultation")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    [panel] = await leader.expect()
    await leader.tap(panel, "Send")
    await until(world, leader, "the most allowed")

    async with world.app.uow() as uow:
        log = [
            (e.email.split(":")[0], e.action)
            for e in (await session_of(uow).execute(select(AuditEntry))).scalars()
        ]
    for step in ("broadcast.start", "broadcast.preview", "broadcast.request", "broadcast.limit"):
        assert ("leader", step) in log
    assert ("approver", "broadcast.approve") in log


async def test_an_invitation_without_approval_reaches_a_night_owl_in_the_morning(
    world: World,
) -> None:
    """No approval needed: Send hands the invitation to outreach at once; quiet hours
    (from settings, in each citizen's time zone) hold it for someone where it is night."""
    early = await join_through_link(world, 5101, "en")
    owl = await join_through_link(world, 5102, "en")
    outsider = world.phone(5103)  # talked to the bot, but not through the co-op
    await outsider.send("/help")
    await outsider.expect()
    async with world.app.uow() as uow:  # the owl lives where it is 23:00 now
        owl_row = await uow.citizens.find(owl.user_id)
        assert owl_row is not None
        await session_of(uow).execute(
            update(Citizen).where(Citizen.id == owl_row.id).values(timezone=zone_at(23))
        )
        await uow.commit()
    before = {phone.user_id: len(phone.messages()) for phone in (early, owl, outsider)}
    leader = await world.make_leader(1002)

    await leader.send("/broadcast")
    [kinds] = await leader.expect()
    await leader.tap(kinds, "Invite to a consultation")
    [which] = await leader.expect()
    await leader.tap(which, "A good home")
    [panel] = await leader.expect()
    await leader.tap(panel, "PL")  # English only: untick Polish
    await until(world, leader, "ready")
    await leader.tap(leader.messages()[-1], "Preview")
    heading, shown, panel = await leader.expect(3)
    assert heading.text == "ℹ️ Preview (EN):"
    await leader.tap(panel, "Send")
    await until(world, leader, "Sent. It is going to 2 people.")

    await world.tick()
    [invitation] = early.messages()[before[early.user_id] :]
    assert invitation.text == shown.text  # exactly what the leader saw
    assert invitation.reply_markup == shown.reply_markup  # the "Take part" link too
    assert "t.me/" in (invitation.text or "")
    assert len(owl.messages()) == before[owl.user_id]  # 23:00 there: not now
    assert len(outsider.messages()) == before[outsider.user_id]  # not in the community

    await world.later(timedelta(hours=5))  # 04:00 there: still night
    assert len(owl.messages()) == before[owl.user_id]
    await world.later(timedelta(hours=5))  # 09:00 there
    [morning] = owl.messages()[before[owl.user_id] :]
    assert morning.text == shown.text
    assert len(early.messages()) == before[early.user_id] + 1  # once
