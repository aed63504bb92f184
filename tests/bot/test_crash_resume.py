"""kill -9 of the bot in the middle of a dialog, then a restart: nothing lost, nothing twice.

Dialog state lives only in the database, updates are committed to the inbox before
they are acknowledged, and outbox rows are sent after the state they belong to is
committed. So a citizen whose bot died (SIGKILL, no chance to clean up) just goes on:
their next tap works on the question they were at, and every answer is stored once.
"""

from __future__ import annotations

from pathlib import Path

from bot_world import Konsulta, Phone, eventually
from sqlalchemy import func, select

from storage.models import Answer, InboxUpdate, OutboxMessage


async def answers_of(world: Konsulta, phone: Phone) -> dict[str, object]:
    async with world.uow() as uow:
        citizen = await uow.citizens.find(phone.user_id)
        assert citizen is not None
        [run] = await uow.runs.list_for_citizen(citizen.id)
        return {a.step_id: a.value for a in await uow.answers.list_for_run(run.id)}


async def count(world: Konsulta, table: type[Answer] | type[InboxUpdate]) -> int:
    async with world.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_dialog_survives_kill_9_and_resumes_where_the_citizen_was(
    world: Konsulta,
) -> None:
    citizen = world.phone(7770001, "pl", "Zofia")
    # A send cut off by a kill is taken as sent a lease after; 2 s, not the default
    # 10 s, so the story does not wait 20 s for it each time.
    lease = {"send_lease_seconds": "2"}
    world.bot.start(**lease)
    await citizen.send("/start senior-housing")
    [consent] = await citizen.expect(1)
    await citizen.tap(consent, "agree")
    await citizen.expect(2)
    await citizen.answer("age", ["85_plus"])

    # Killed right after the bot asked: the state is committed, the question on screen.
    assert await world.bot.kill() == -9
    world.bot.start(**lease)
    await citizen.answer("lives_with", ["partner"])
    assert await answers_of(world, citizen) == {"age": "85_plus", "lives_with": "partner"}

    # Killed with a tap in flight: somewhere between the emulator, the inbox and the
    # outbox. After the restart it is handled exactly once.
    await citizen.send("7")
    assert await world.bot.kill() == -9
    world.bot.start(**lease)
    [floor] = await citizen.expect(1)
    assert "piętrze" in (floor.text or ""), citizen.texts()
    await citizen.answer("floor", ["low"])
    await citizen.answer("stairs", ["no"])
    await world.settled()

    assert await answers_of(world, citizen) == {
        "age": "85_plus",
        "lives_with": "partner",
        "years_here": 7,
        "floor": "low",
        "stairs": False,
    }
    assert await count(world, Answer) == 5
    # Every update the citizen sent is in the inbox once and handled.
    async with world.engine.connect() as connection:
        unhandled = await connection.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.handled_at.is_(None))
        )
    assert unhandled == 0
    assert await count(world, InboxUpdate) == 7  # /start, 5 taps, "7"
    # No question was asked twice in a row (a lost or doubled update would show here).
    questions = [t.split("\n")[0] for t in citizen.texts() if "/15\n" in t]
    assert questions == sorted(set(questions), key=questions.index), questions

    await world.bot.stop()
    log = world.bot.log()
    assert "Traceback" not in log, log[-5000:]


async def test_replies_handed_straight_to_the_sender_survive_kill_9_before_they_went_out(
    world: Konsulta, tmp_path: Path
) -> None:
    """A dialog's replies go from its transaction straight to the sender, already
    claimed for it (no claiming round). The bot dies after that commit and before
    they are sent: the next process sends them once their lease ends, each exactly
    once, and does not repeat the one that was in flight at the kill."""
    citizen = world.phone(7770002, "pl", "Jan")
    halted = tmp_path / "sender-halted"
    # The sender stops for good after 2 sends: the consent question, then the edit
    # that closes it; the welcome and the first question are committed, not sent.
    world.bot.start(sender_halt_after="2", sender_halt_file=str(halted), send_lease_seconds="1")
    await citizen.send("/start senior-housing")
    [consent] = await citizen.expect(1)
    await citizen.tap(consent, "agree")
    await citizen.until(lambda: consent.reply_markup is None)  # closed: the 2nd send
    await eventually(halted.exists)
    async with world.engine.connect() as connection:
        queued = (
            await connection.execute(
                select(OutboxMessage.status, OutboxMessage.attempts)
                .order_by(OutboxMessage.id)
                .offset(2)
            )
        ).all()
    assert queued == [("pending", 0), ("pending", 0)]  # queued, no send failed
    assert len(citizen.messages()) == 1

    assert await world.bot.kill() == -9
    world.bot.start(send_lease_seconds="1")
    welcome, first = await citizen.expect(2)
    assert "1/15" in (first.text or ""), citizen.texts()
    await citizen.answer("age", ["85_plus"])
    await world.settled()

    texts = citizen.texts()
    assert len(texts) == 4 and sum("1/15" in t for t in texts) == 1, texts
    assert texts.count(welcome.text or "") == 1, texts
    async with world.engine.connect() as connection:
        in_doubt = await connection.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.last_error.like("in doubt%"))
        )
    assert in_doubt == 1  # the closing edit: sent before the kill, taken as sent
    assert await answers_of(world, citizen) == {"age": "85_plus"}
    await world.bot.stop()
    assert "Traceback" not in world.bot.log()
