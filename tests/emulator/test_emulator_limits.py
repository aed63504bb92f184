"""429s, 403s and unknown chats, answered exactly as Telegram answers them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from emulator import Emulator, EmulatorConfig

BotCall = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


class FakeClock(Protocol):
    def advance(self, seconds: float) -> None: ...


async def test_bursting_one_chat_gets_429_with_retry_after(
    emulator: Emulator, call: BotCall, clock: FakeClock
) -> None:
    emulator.citizens.create(9)
    statuses = [(await call("sendMessage", chat_id=9, text=f"m{i}"))[0] for i in range(3)]
    assert statuses == [200, 200, 200]
    status, body = await call("sendMessage", chat_id=9, text="too fast")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    clock.advance(1.0)
    assert (await call("sendMessage", chat_id=9, text="after waiting"))[0] == 200
    assert emulator.stats.too_many_requests == 1
    assert emulator.stats.accepted_per_chat[9] == 4


async def test_global_limit_spans_chats(
    emulator: Emulator, config: EmulatorConfig, call: BotCall
) -> None:
    config.rate_limits.global_per_second = 5
    config.rate_limits.global_burst = 5
    for user_id in range(1, 7):
        emulator.citizens.create(user_id)
    statuses = [(await call("sendMessage", chat_id=u, text="hi"))[0] for u in range(1, 7)]
    assert statuses == [200] * 5 + [429]


async def test_group_chat_allows_20_per_minute(
    emulator: Emulator, config: EmulatorConfig, call: BotCall, clock: FakeClock
) -> None:
    config.rate_limits.per_chat_burst = 100
    emulator.citizens.create_group(-100, "Seniors club", [1, 2])
    statuses = [(await call("sendMessage", chat_id=-100, text="x"))[0] for _ in range(21)]
    assert statuses.count(200) == 20
    _, body = await call("sendMessage", chat_id=-100, text="x")
    assert body["parameters"]["retry_after"] == 3  # one message per 3 s refills
    clock.advance(3)
    assert (await call("sendMessage", chat_id=-100, text="x"))[0] == 200


async def test_limits_can_be_switched_off(
    emulator: Emulator, config: EmulatorConfig, call: BotCall
) -> None:
    config.rate_limits.enabled = False
    emulator.citizens.create(9)
    statuses = {(await call("sendMessage", chat_id=9, text="x"))[0] for _ in range(50)}
    assert statuses == {200}
    assert emulator.stats.accepted_total == 50


async def test_blocked_user_answers_403(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(9)
    emulator.citizens.block(9)
    status, body = await call("sendMessage", chat_id=9, text="still there?")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    _, updates = await call("getUpdates")
    member = updates["result"][0]["my_chat_member"]
    assert member["new_chat_member"]["status"] == "kicked"
    emulator.citizens.unblock(9)
    assert (await call("sendMessage", chat_id=9, text="welcome back"))[0] == 200


async def test_unknown_chat_answers_chat_not_found(call: BotCall) -> None:
    status, body = await call("sendMessage", chat_id=404404, text="anyone?")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_wrong_token_is_unauthorized(emulator: Emulator, http: Any) -> None:
    async with http.post(f"{emulator.base_url}/botnot-a-token/getMe") as response:
        assert response.status == 401
