"""The playground: a Telegram-like web chat with the bot, served by the emulator itself.

Open the emulator's address in a browser (``konsulta run --emulator`` prints it) and
talk to the bot as one of a few fake citizens: tap buttons, type, share a location or
a contact, send a photo or a voice note, change the Telegram language, and move the
bot's clock forward to see follow-ups. Plain HTML, CSS and JavaScript in this folder;
no build step, nothing loaded from the internet.
"""

from emulator.playground.server import (
    FAKE_CITIZENS,
    PLACES,
    FakeCitizen,
    Playground,
    TimeMachine,
    parse_jump,
)
from emulator.playground.view import chat_view, entities_to_html

__all__ = [
    "FAKE_CITIZENS",
    "PLACES",
    "FakeCitizen",
    "Playground",
    "TimeMachine",
    "chat_view",
    "entities_to_html",
    "parse_jump",
]
