"""Compact callback data for every inline button the bot shows.

Buttons are routed on these factories, never on visible (translated) text, and the
packed data stays under Telegram's 64 bytes: step ids are at most 24 characters and
option keys 16 (see dialogs.schema).
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from konsulta.consents import WITHDRAW_PREFIX
from konsulta.leaders.actions import LEADER_PREFIX, LeaderAction


class Tap(CallbackData, prefix="t"):
    """An answer button: which run, which question, which option."""

    run: int
    step: str
    key: str


class PickLanguage(CallbackData, prefix="lang"):
    code: str


class ConfirmErase(CallbackData, prefix="erase"):
    sure: bool


class WithdrawConsent(CallbackData, prefix=WITHDRAW_PREFIX):
    """/consents: withdraw one purpose's consent for one consultation (packed by
    `konsulta.consents.withdraw_callback`; the handler checks it stands)."""

    consultation: int
    purpose: str


class LeaderAct(CallbackData, prefix=LEADER_PREFIX):
    """A leader's button (see `konsulta.leaders.actions`, which packs the same way).

    `act` picks the one handler (`LeaderAct.filter(F.act == LeaderAction.X)`); `arg`
    stays text because its kind depends on the action (a consultation id, a language,
    a `BroadcastKind` or a `Verdict`), and the handler parses it as that. The data
    comes back from the phone and is not trusted: every handler checks that the
    leader may act on the community or broadcast named."""

    act: LeaderAction
    id: int = 0
    arg: str = ""
