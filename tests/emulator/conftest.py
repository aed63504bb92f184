"""Fixtures: a live emulator on a free port, a fake clock, and a raw Bot API caller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from emulator import Emulator, EmulatorConfig, start_emulator
from emulator.config import RateLimitConfig, WebhookConfig

BotCall = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


class FakeClock:
    """Monotonic time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(clock: FakeClock) -> EmulatorConfig:
    return EmulatorConfig(
        clock=clock,
        rate_limits=RateLimitConfig(),
        webhook=WebhookConfig(retry_initial_delay=0.01, retry_max_delay=0.05),
    )


@pytest.fixture
async def emulator(config: EmulatorConfig) -> AsyncIterator[Emulator]:
    emu = await start_emulator("127.0.0.1", 0, config)
    try:
        yield emu
    finally:
        await emu.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def call(emulator: Emulator, http: aiohttp.ClientSession) -> BotCall:
    """POST a Bot API method as JSON and return ``(status, body)``."""

    async def _call(method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        url = f"{emulator.base_url}/bot{emulator.token}/{method}"
        async with http.post(url, json=params) as response:
            return response.status, await response.json()

    return _call
