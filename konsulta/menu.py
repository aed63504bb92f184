"""The command menus Telegram shows (the citizens', and the leaders' added to it), and
what /help and /stop say.

One source for the bot's `setMyCommands` and a leader's own chat menu (queued by the
leaders' service), so the two never drift apart; and one text for /help or /stop
whether the citizen sent the command or typed its word ("pomocy", "stop") mid-question.
"""

from __future__ import annotations

from dialogs.events import Translator


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
    ("voice", _("Read messages aloud (on or off)")),
    ("mydata", _("See my data")),
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


def help_text(texts: Translator) -> str:
    """What /help (or a help word typed mid-question) says."""
    return (
        texts.gettext(
            "I ask short questions for your town or organisation. Most answers are one tap.\n\n"
            "/consultations – see what you can answer\n"
            "/back – go back one question\n"
            "/skip – skip a question that is not required\n"
            "/restart – start this consultation again\n"
            "/language – change the language\n"
            "/mydata – see everything we keep about you\n"
            "/delete – delete all your data\n"
            "/stop – no more messages from us (/start to come back)"
        )
        + "\n"
        + texts.gettext("/voice – read my messages aloud (/voice on, /voice off)")
    )


def stopped_text(texts: Translator) -> str:
    """What /stop (or a stop word typed mid-question) says."""
    return texts.gettext(
        "You will get no more messages from us. Your answers are kept. "
        "Send /start if you want to come back."
    )
