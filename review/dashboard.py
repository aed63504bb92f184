"""What every request handler of the dashboard reaches: `request.app.state.dashboard`.

The services (`App`), the page templates, the clock, the charts' cache, the public
pages' own cache (a separate read path: public traffic never evicts the dashboard's
charts) and the Bot API client for a report's photo, built once per web app by
`review.web`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from jinja2 import Environment

from konsulta.bootstrap import App
from review.stats_cache import StatsCache
from storage.types import utcnow


@dataclass
class Dashboard:
    """What every request handler reaches through `request.app.state.dashboard`."""

    app: App
    templates: Environment
    clock: Callable[[], datetime] = utcnow
    stats: StatsCache = field(default_factory=lambda: StatsCache(0))
    public: StatsCache = field(default_factory=lambda: StatsCache(0, keep_none=False))
    _bot: Bot | None = field(default=None, repr=False)
    _username: str = field(default="", repr=False)

    def bot(self) -> Bot:
        """The Bot API client (for a report's photo), made on first use."""
        if self._bot is None:
            settings = self.app.settings
            session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_base_url))
            self._bot = Bot(settings.bot_token.get_secret_value(), session=session)
        return self._bot

    async def bot_username(self) -> str:
        """The bot's @name for deep links: the setting, else asked once (getMe)."""
        if not self._username:
            self._username = self.app.settings.bot_username.lstrip("@")
        if not self._username:
            me = await self.bot().me()
            self._username = me.username or ""
        if not self._username:
            raise RuntimeError("the bot has no username, so it cannot make links")
        return self._username

    async def close(self) -> None:
        await self.stats.close()
        await self.public.close()
        if self._bot is not None:
            await self._bot.session.close()
