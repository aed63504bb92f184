"""Webhook mode: the emulator POSTs updates to the bot's own listener.

The bot (`konsulta run --webhook`) registers its URL and secret with setWebhook; a
request without the right `X-Telegram-Bot-Api-Secret-Token` is refused with 401, and
one update POSTed five times at once is stored once in the inbox and answered once.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from bot_world import WEBHOOK_SECRET, Konsulta, free_port
from sqlalchemy import func, select

from storage.models import InboxUpdate

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def test_webhook_refuses_a_wrong_secret_and_handles_a_replayed_update_once(
    world: Konsulta,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    world.bot.start("--webhook", webhook_url=url, webhook_port=str(port))

    # A citizen talks to the bot; the emulator delivers every update by webhook.
    citizen = world.phone(6660001, "en", "Maria")
    await citizen.send("/start senior-housing")
    [consent] = await citizen.expect(1)
    assert world.emu.state.webhook is not None
    assert world.emu.state.webhook.url == url
    assert world.emu.state.webhook.secret_token == WEBHOOK_SECRET
    await citizen.tap(consent, "agree")
    await citizen.expect(2)
    await citizen.answer("age", ["65_74"])
    assert world.emu.webhook.delivered == 3

    async with aiohttp.ClientSession() as http:
        for headers in ({SECRET_HEADER: "guess"}, {SECRET_HEADER: "zażółć-🔑"}, {}):
            async with http.post(url, json={"update_id": 1}, headers=headers) as response:
                assert response.status == 401
        # A header that is not even UTF-8 is a wrong secret too, not a crash.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            + SECRET_HEADER.encode()
            + b": \xff\xfe\r\nConnection: close\r\n\r\n{}"
        )
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 401")
        writer.close()
        await writer.wait_closed()

        # The same update, five times at once (Telegram retrying a slow answer).
        await world.said(citizen)
        update = {
            "update_id": 900_001,
            "message": {
                "message_id": 999,
                "date": int(time.time()),
                "chat": {"id": citizen.user_id, "type": "private", "first_name": "Maria"},
                "from": {"id": citizen.user_id, "is_bot": False, "first_name": "Maria"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }

        async def post() -> int:
            headers = {SECRET_HEADER: WEBHOOK_SECRET}
            async with http.post(url, json=update, headers=headers) as response:
                return response.status

        assert await asyncio.gather(*(post() for _ in range(5))) == [200] * 5
        assert await post() == 200  # and once more, after it was handled

    said = await world.said(citizen)
    assert len(said) == 1, [m.text for m in said]
    assert "/consultations" in (said[0].text or "")
    async with world.engine.connect() as connection:
        stored = await connection.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.update_id == 900_001)
        )
        handled = await connection.scalar(
            select(InboxUpdate.handled_at).where(InboxUpdate.update_id == 900_001)
        )
    assert stored == 1
    assert handled is not None

    # The dialog goes on by webhook as before.
    await citizen.answer("lives_with", ["alone"])
    async with world.uow() as uow:
        person = await uow.citizens.find(citizen.user_id)
        assert person is not None
        [run] = await uow.runs.list_for_citizen(person.id)
        answers = {a.step_id: a.value for a in await uow.answers.list_for_run(run.id)}
    assert answers == {"age": "65_74", "lives_with": "alone"}

    await world.bot.stop()
    world.bot.assert_healthy()
