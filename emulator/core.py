"""The emulated Telegram itself: chats, the Bot API, citizens, limits, webhook delivery.

Kept apart from the HTTP server (`emulator.server`) so the test routes and the
playground, which the server mounts, can depend on it without depending on the server.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from emulator.citizens import Citizens
from emulator.config import EmulatorConfig
from emulator.limits import RateLimiter, SendingStats
from emulator.methods import BotApi
from emulator.spec import BotApiSpec
from emulator.state import CallbackQueryRecord, Chat, ChatMessage, EmulatorState
from emulator.webhook import WebhookDelivery


@lru_cache(maxsize=4)
def _load_spec(path: Path | None) -> BotApiSpec:
    # api.json is ~1 MB; tests start many emulators, so parse it once per path.
    return BotApiSpec.load(path)


class EmulatedTelegram:
    """One emulated Telegram with one bot: state, Bot API, citizens; no HTTP server.

    The citizen routes and the playground work on this, and `emulator.server.Emulator`
    serves it over HTTP with them, so neither needs to know the server."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.spec = _load_spec(self.config.spec_path)
        self.state = EmulatorState()
        self.limiter = RateLimiter(self.config.rate_limits, self.config.clock)
        self.webhook = WebhookDelivery(self.state, self.config.webhook)
        self.api = BotApi(self.state, self.spec, self.limiter, self.config, self.webhook)
        self.citizens = Citizens(self.state, self.api.bot_user)

    @property
    def token(self) -> str:
        """A token the emulator accepts, for bots built in tests."""
        return self.config.token or f"{self.config.bot_id}:emulator-token"

    @property
    def stats(self) -> SendingStats:
        return self.limiter.stats

    # --- what tests read --------------------------------------------------------------

    def chat(self, chat_id: int) -> Chat:
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"no chat {chat_id}")
        return chat

    def bot_messages(self, chat_id: int) -> list[ChatMessage]:
        """Everything the bot sent to the chat, as it looks now (edits, deletions)."""
        return self.chat(chat_id).bot_messages()

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[ChatMessage]:
        """Wait until the bot has sent ``count`` messages to the chat in total."""
        ready = await self.state.wait_until(
            lambda: chat_id in self.state.chats and len(self.bot_messages(chat_id)) >= count,
            timeout,
        )
        if not ready:
            sent = [m.text or m.caption or m.kind for m in self.bot_messages(chat_id)]
            raise TimeoutError(f"chat {chat_id}: wanted {count} bot messages, got {sent}")
        return self.bot_messages(chat_id)

    def file_bytes(self, file_id: str) -> bytes:
        return self.state.files[file_id].data

    def commands_for_chat(self, chat_id: int) -> list[dict[str, Any]]:
        """The command menu this chat sees, resolved by scope and the citizen's language."""
        citizen = self.state.users.get(chat_id)
        language = citizen.language_code if citizen else None
        return self.state.commands_for_chat(chat_id, language)

    def callback_answers(self, chat_id: int | None = None) -> list[CallbackQueryRecord]:
        return [
            record
            for record in self.state.callback_queries.values()
            if chat_id is None or record.chat_id == chat_id
        ]

    # --- Bot API over HTTP --------------------------------------------------------------
