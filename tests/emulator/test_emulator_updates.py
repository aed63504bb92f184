"""Updates reach the bot like Telegram delivers them: long polling or webhook push."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from emulator import Emulator
from emulator.webhook import SECRET_HEADER

BotCall = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


async def test_long_polling_confirms_updates_by_offset(emulator: Emulator, call: BotCall) -> None:
    await emulator.citizens.send_text(1, "/start")
    await emulator.citizens.send_text(1, "hello")
    status, body = await call("getUpdates")
    ids = [u["update_id"] for u in body["result"]]
    assert status == 200 and ids == sorted(ids) and len(ids) == 2
    # Without a higher offset nothing is confirmed: the same updates come again.
    assert [u["update_id"] for u in (await call("getUpdates"))[1]["result"]] == ids
    _, body = await call("getUpdates", offset=ids[0] + 1, limit=1)
    assert [u["update_id"] for u in body["result"]] == [ids[1]]
    _, body = await call("getUpdates", offset=ids[1] + 1)
    assert body["result"] == []


async def test_long_poll_wakes_up_when_a_citizen_writes(emulator: Emulator, call: BotCall) -> None:
    poll = asyncio.create_task(call("getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await emulator.citizens.send_text(7, "/start leader-42")
    _, body = await asyncio.wait_for(poll, 2)
    message = body["result"][0]["message"]
    assert message["text"] == "/start leader-42"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]


async def test_allowed_updates_filters_kinds(emulator: Emulator, call: BotCall) -> None:
    await emulator.citizens.send_text(1, "hi")
    _, body = await call("getUpdates", allowed_updates=["callback_query"], timeout=0)
    assert body["result"] == []


async def test_negative_offset_keeps_the_newest(emulator: Emulator, call: BotCall) -> None:
    for text in ("a", "b", "c"):
        await emulator.citizens.send_text(1, text)
    _, body = await call("getUpdates", offset=-1)
    assert [u["message"]["text"] for u in body["result"]] == ["c"]


class WebhookReceiver:
    """A bot's webhook endpoint that fails the first ``failures`` deliveries."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[str | None, dict[str, Any], int]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        status = 500 if self.failures > 0 else 200
        self.failures -= 1
        self.received.append((request.headers.get(SECRET_HEADER), await request.json(), status))
        return web.Response(status=status)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver(failures=2)
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield hook
    await runner.cleanup()


async def test_webhook_push_with_secret_and_retry(
    emulator: Emulator, call: BotCall, receiver: WebhookReceiver
) -> None:
    status, _ = await call("setWebhook", url=receiver.url, secret_token="s3cret-token_1")
    assert status == 200
    await emulator.citizens.send_text(3, "hi")
    for _ in range(300):  # delivery happens in the background; retries take ~30 ms
        if any(s == 200 for *_, s in receiver.received):
            break
        await asyncio.sleep(0.01)
    assert [s for *_, s in receiver.received] == [500, 500, 200]
    assert {secret for secret, *_ in receiver.received} == {"s3cret-token_1"}
    update_ids = {body["update_id"] for _, body, _ in receiver.received}
    assert len(update_ids) == 1  # the same update, redelivered
    _, info = await call("getWebhookInfo")
    assert info["result"]["url"] == receiver.url
    assert info["result"]["pending_update_count"] == 0
    assert "500" in info["result"]["last_error_message"]


async def test_get_updates_conflicts_with_webhook(
    emulator: Emulator, call: BotCall, receiver: WebhookReceiver
) -> None:
    await call("setWebhook", url=receiver.url)
    status, body = await call("getUpdates")
    assert status == 409
    assert body["description"].startswith("Conflict: can't use getUpdates method")
    await call("deleteWebhook", drop_pending_updates=True)
    assert (await call("getUpdates"))[0] == 200


async def test_delete_webhook_can_drop_pending_updates(emulator: Emulator, call: BotCall) -> None:
    await emulator.citizens.send_text(1, "hi")
    await call("deleteWebhook", drop_pending_updates=True)
    assert (await call("getUpdates"))[1]["result"] == []


async def test_close_does_not_wait_for_a_long_poll(config: Any) -> None:
    from emulator import start_emulator

    emu = await start_emulator("127.0.0.1", 0, config)

    async def long_poll() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{emu.base_url}/bot{emu.token}/getUpdates", json={"timeout": 30}) as r,
        ):
            body: dict[str, Any] = await r.json()
            return body

    poll = asyncio.create_task(long_poll())
    await asyncio.sleep(0.05)
    await asyncio.wait_for(emu.close(), 3)
    assert (await asyncio.wait_for(poll, 3))["result"] == []
