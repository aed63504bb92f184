"""The one sender keeps to Telegram's per-chat limit by itself.

Here the emulator enforces Telegram's real limits (about one message a second per
chat after a burst of three) and the bot runs with its default sending rates. A
citizen who asks for five answers at once gets all five, paced by the sender, and the
emulator never had to answer 429: no "too many requests" reaches the bot's log.
"""

from __future__ import annotations

import pytest
from bot_world import Konsulta


@pytest.fixture
def emulator_rate_limits() -> bool:
    return True


async def test_replies_are_paced_to_the_real_per_chat_limit_without_a_429(
    sqlite_world: Konsulta,
) -> None:
    world = sqlite_world
    citizen = world.phone(9990001, "en", "Piotr")
    # Telegram's limits on the sender's side too: 1 message/s per chat (bursts of 3).
    world.bot.start(rate_per_chat="1", rate_per_second="30")
    for _ in range(5):
        await citizen.send("/help")
    replies = await citizen.expect(5)
    assert all("/mydata" in (m.text or "") for m in replies)
    await world.settled()

    assert world.emu.stats.too_many_requests == 0
    assert world.emu.stats.accepted_per_chat[citizen.chat_id] >= 5
    await world.bot.stop()
    world.bot.assert_healthy()
    # The sender's own warning: a bare "429" also matches a timestamp's milliseconds.
    assert "429 from Telegram" not in world.bot.log()
