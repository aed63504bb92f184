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
    _bots: dict[str, Bot] = field(default_factory=dict, repr=False)
    _usernames: dict[str, str] = field(default_factory=dict, repr=False)

    def bot(self, name: str = "") -> Bot:
        """The Bot API client of the bot `name` (the main one: ""), made on first use:
        a report's photo, a link's @username."""
        if name not in self._bots:
            config = next(c for c in self.app.settings.all_bots() if c.name == name)
            session = AiohttpSession(api=TelegramAPIServer.from_base(config.api_base_url))
            self._bots[name] = Bot(config.token.get_secret_value(), session=session)
        return self._bots[name]

    async def bot_username(self, organisation: str) -> str:
        """The @name of the bot that serves `organisation`, for deep links: its
        setting, else asked once (getMe)."""
        config = self.app.settings.bot_for(organisation)
        if config.name not in self._usernames:
            username = config.username.lstrip("@")
            if not username:
                username = (await self.bot(config.name).me()).username or ""
            if not username:
                raise RuntimeError("the bot has no username, so it cannot make links")
            self._usernames[config.name] = username
        return self._usernames[config.name]

    async def close(self) -> None:
        await self.stats.close()
        await self.public.close()
        for bot in self._bots.values():
            await bot.session.close()
