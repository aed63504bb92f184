"""The command menus Telegram shows: the citizens', and the leaders' added to it.

One source for the bot's `setMyCommands` and a leader's own chat menu (queued by the
leaders' service), so the two never drift apart.
"""

from __future__ import annotations


def _(message: str) -> str:
    """Mark a text for extraction; it is translated where it is shown."""
    return message


#: (command, description msgid) in the order the menu shows them.
COMMANDS = [
    ("start", _("Start or continue")),
    ("consultations", _("Open consultations")),
    ("back", _("Go back one question")),
    ("skip", _("Skip this question")),
    ("restart", _("Start this consultation again")),
    ("language", _("Change language")),
    ("mydata", _("See my data")),
    ("consents", _("My consents")),
    ("delete", _("Delete my data")),
    ("stop", _("No more messages")),
    ("help", _("Help")),
]

COMMAND_TEXTS = [text for _command, text in COMMANDS]

#: The leader's extra commands, after the citizen's ones, in menu order.
LEADER_COMMANDS = [
    ("invite", _("Invite link and poster")),
    ("broadcast", _("Message my community")),
    ("assist", _("Help someone answer")),
    ("stats", _("How many took part")),
]
