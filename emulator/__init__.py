"""Konsulta's own Telegram Bot API emulator: a real HTTP server for tests and demos."""

from emulator.config import EmulatorConfig, RateLimitConfig, WebhookConfig
from emulator.errors import BotApiError
from emulator.server import Emulator, run, start_emulator

__all__ = [
    "BotApiError",
    "Emulator",
    "EmulatorConfig",
    "RateLimitConfig",
    "WebhookConfig",
    "run",
    "start_emulator",
]
