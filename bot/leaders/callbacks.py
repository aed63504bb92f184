"""Buttons of the leader dialogs: one compact CallbackData factory, routed on its
fields, never on the (translated) button text. Packed it stays far below Telegram's
64 bytes ("ld:bl:123456:uk"). The data comes back from the phone and is not trusted:
every handler checks that the leader may act on the community or broadcast named.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

__all__ = ["Act", "LeaderAct"]


class Act:
    """The `act` codes (short, so the packed data stays small)."""

    INVITE_COMMUNITY = "ic"  # id: community
    INVITE = "iv"  # id: community, arg: consultation
    REVOKE = "rv"  # id: invite link
    BROADCAST_COMMUNITY = "bc"  # id: community
    BROADCAST_KIND = "bk"  # id: community, arg: message|invite
    BROADCAST_CONSULTATION = "bo"  # id: broadcast, arg: consultation
    BROADCAST_LANGUAGE = "bl"  # id: broadcast, arg: language
    BROADCAST_PREVIEW = "bp"  # id: broadcast
    BROADCAST_SEND = "bs"  # id: broadcast
    BROADCAST_CANCEL = "bx"  # id: broadcast
    APPROVE = "ap"  # id: broadcast, arg: y|n
    ASSIST_COMMUNITY = "ac"  # id: community
    ASSIST = "as"  # id: community, arg: consultation
    ASSIST_STOP = "ax"
    STATS_COMMUNITY = "sc"  # id: community (0: all of the leader's)
    STATS = "st"  # id: community (0: all), arg: consultation


class LeaderAct(CallbackData, prefix="ld"):
    act: str
    id: int = 0
    arg: str = ""
