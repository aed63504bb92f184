"""What a leader's button asks for, named once for the service and the adapter.

The service builds the buttons of the messages it queues (a broadcast's preview, an
approval request), so it needs the packed callback data; the Telegram adapter parses
the same data with its aiogram `CallbackData` factory (`bot.telegram.callbacks.LeaderAct`),
which packs exactly as `leader_callback` does (tests/leaders/test_leader_buttons.py holds
the two together and checks every action against Telegram's 64 bytes with the largest
ids a database can give: "ld:bo:2147483647:2147483647" is 27).

An action's `arg` is one of a few kinds, each named here: a consultation id, a language
code, a `BroadcastKind` or a `Verdict`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["LEADER_PREFIX", "BroadcastKind", "LeaderAction", "Verdict", "leader_callback"]

LEADER_PREFIX = "ld"


class LeaderAction(StrEnum):
    """The `act` codes (short, so the packed data stays small)."""

    INVITE_COMMUNITY = "ic"  # id: community
    INVITE = "iv"  # id: community, arg: consultation
    REVOKE = "rv"  # id: invite link
    BROADCAST_COMMUNITY = "bc"  # id: community
    BROADCAST_KIND = "bk"  # id: community, arg: BroadcastKind
    BROADCAST_CONSULTATION = "bo"  # id: broadcast, arg: consultation
    BROADCAST_LANGUAGE = "bl"  # id: broadcast, arg: language
    BROADCAST_PREVIEW = "bp"  # id: broadcast
    BROADCAST_SEND = "bs"  # id: broadcast
    BROADCAST_CANCEL = "bx"  # id: broadcast
    APPROVE = "ap"  # id: broadcast, arg: Verdict
    ASSIST_COMMUNITY = "ac"  # id: community
    ASSIST = "as"  # id: community, arg: consultation
    ASSIST_STOP = "ax"
    STATS_COMMUNITY = "sc"  # id: community (0: all of the leader's)
    STATS = "st"  # id: community (0: all), arg: consultation


class BroadcastKind(StrEnum):
    """What a leader sends their community: their own words, or an invitation."""

    MESSAGE = "message"
    INVITE = "invite"


class Verdict(StrEnum):
    """An approver's answer to a leader's broadcast."""

    APPROVE = "y"
    REJECT = "n"


def leader_callback(act: LeaderAction, item: int = 0, arg: str = "") -> str:
    """The callback data of a leader's button, as `LeaderAct(...).pack()` makes it."""
    return f"{LEADER_PREFIX}:{act.value}:{item}:{arg}"
