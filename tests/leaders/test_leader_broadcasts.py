"""A leader writes to their community from Telegram: preview per language, approval by
the organisation's staff, exactly one message per person, a daily limit."""

from __future__ import annotations

from leader_world import COMMUNITY, ORGANISATION, Phone, World
from sqlalchemy import func, select

from bot.conversations import AGREE, CONSENT_STEP, Conversations, Who
from bot.leaders.service import invite_link
from bot.privacy import set_stopped
from dialogs.events import ButtonPress
from storage.models import AuditEntry, OutboxMessage


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
    await world.settled()
    assert anna.messages() == [] and jan.messages() == []  # nothing before approval

    question = approver.messages()[-1]
    rows = (question.reply_markup or {})["inline_keyboard"]
    [approve, _reject] = [row[0]["callback_data"] for row in rows]
    await approver.tap(question, "Approve")
    await until(world, approver, "Approved. It is going to 2 people.")
    # A second tap (a slow phone, or a second approver) decides nothing again.
    await world.emu.citizens.tap(4001, question.message_id, approve)
    await until(world, approver, "already decided")
    await until(world, leader, "approved and is going to 2 people")
    await world.settled()
    [to_anna] = anna.messages()
    [to_jan] = jan.messages()
    assert to_anna.text == previews["ℹ️ Preview (EN):"]  # exactly what the leader saw
    assert to_jan.text == previews["ℹ️ Preview (PL):"]
    assert quiet.messages() == []  # said /stop
    async with world.app.uow() as uow:
        rows = await uow.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "broadcast")
        )
    assert rows == 2

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
            for e in (await uow.session.execute(select(AuditEntry))).scalars()
        ]
    for step in ("broadcast.start", "broadcast.preview", "broadcast.request", "broadcast.limit"):
        assert ("leader", step) in log
    assert ("approver", "broadcast.approve") in log
