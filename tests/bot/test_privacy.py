"""A citizen's data rights from the chat, with two citizens in the database.

/mydata sends a JSON file with exactly the caller's data (their participant id and
answers, nobody else's). /delete, confirmed with a tap, leaves nothing of theirs: no
answer, run, consent or channel row, and their Telegram id appears in no column of
any table (inbox raw JSON and outbox included).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from bot_world import Konsulta, Phone, eventually

# Ids that cannot turn up by chance inside timestamps, hashes or other numbers.
ANNA, BOGDAN = 8_131_572_946, 8_262_735_119


async def answer_a_little(phone: Phone, age: str, lives_with: str) -> None:
    await phone.send("/start senior-housing")
    [consent] = await phone.expect(1)
    await phone.tap(consent, "agree")
    await phone.expect(2)
    await phone.answer("age", [age])
    await phone.answer("lives_with", [lives_with])


def mentions(rows: dict[str, list[dict[str, Any]]], needle: str) -> list[str]:
    """Where `needle` appears: 'table.column' for every cell whose text contains it."""
    found = []
    for table, table_rows in rows.items():
        for row in table_rows:
            for column, value in row.items():
                text = json.dumps(value, default=str) if isinstance(value, dict | list) else value
                if needle in str(text):
                    found.append(f"{table}.{column}")
    return found


def copies_left(world: Konsulta, needles: tuple[bytes, ...]) -> list[str]:
    """Which needles the SQLite files hold (none on PostgreSQL)."""
    return [
        f"{needle!r} in {path.name}"
        for path in world.database_files()
        for needle in needles
        if needle in path.read_bytes()
    ]


async def test_mydata_shows_only_mine_and_delete_leaves_no_trace(world: Konsulta) -> None:
    anna = world.phone(ANNA, "pl", "Annamaria")  # a name no bundled text contains
    bogdan = world.phone(BOGDAN, "en", "Bogdan")
    world.bot.start()
    await answer_a_little(anna, "75_84", "alone")
    await answer_a_little(bogdan, "60_64", "family")

    async with world.uow() as uow:
        anna_row = await uow.citizens.find(ANNA)
        bogdan_row = await uow.citizens.find(BOGDAN)
        assert anna_row is not None and bogdan_row is not None
        anna_pid, bogdan_pid = anna_row.participant_id, bogdan_row.participant_id

    # /mydata: a JSON document of Anna's data and nothing of Bogdan's.
    await anna.send("/mydata")
    [document] = await anna.expect(1)
    assert document.kind == "document" and document.file_id is not None
    content = world.emu.file_bytes(document.file_id).decode()
    data = json.loads(content)
    assert anna_pid in content and bogdan_pid not in content
    assert "75_84" in content and "alone" in content
    assert "60_64" not in content and "family" not in content
    assert json.dumps(data)  # plain JSON all the way down
    await world.settled()
    # The file itself is personal data: it is not kept in the outbox once sent.
    assert mentions(await world.rows(), "content_base64") == []

    # /delete asks first; "no" keeps everything, "yes" erases.
    await anna.send("/delete")
    [question] = await anna.expect(1)
    await anna.tap(question, "0")  # "No, keep my data"
    await anna.until(lambda: not question.callback_data())
    await world.settled()
    async with world.uow() as uow:
        assert await uow.citizens.find(ANNA) is not None

    await anna.send("/delete")
    [question] = await anna.expect(1)
    await anna.tap(question, "1")  # "Yes, delete everything"
    await anna.until(lambda: not question.callback_data())
    await world.settled()
    assert "/start" in (question.text or "")  # the goodbye says how to come back

    rows = await world.rows()
    for needle in (str(ANNA), anna_pid):
        assert mentions(rows, needle) == [], f"{needle} still in {mentions(rows, needle)}"
    # Bogdan is untouched: his citizen, channel, consent, run and answers remain.
    assert len(rows["citizens"]) == 1 and rows["citizens"][0]["participant_id"] == bogdan_pid
    assert [c["channel_user_id"] for c in rows["citizen_channels"]] == [BOGDAN]
    assert len(rows["consent_records"]) == 1
    assert len(rows["runs"]) == 1
    assert sorted(a["step_id"] for a in rows["answers"]) == ["age", "lives_with"]
    assert mentions(rows, str(BOGDAN))

    # Nor do the SQLite files keep a copy: no free page, no write-ahead log frame holds
    # her participant id, her name or her Telegram id (as SQLite stores an integer).
    # The goodbye to her chat is forgotten once sent, and the checkpoint that folds that
    # into the database file follows the commit: give it a moment.
    needles = (anna_pid.encode(), b"Annamaria", ANNA.to_bytes(6, "big"))
    with contextlib.suppress(TimeoutError):
        await eventually(lambda: not copies_left(world, needles), timeout=5)
    assert copies_left(world, needles) == []

    # Anna may come back as a new person; the bot does not remember her.
    await anna.send("/start senior-housing")
    [consent] = await anna.expect(1)
    assert consent.callback_data()

    await world.bot.stop()
    world.bot.assert_healthy()
