"""What a citizen sent in a Telegram message, as the dialog engine understands it.

One parser for every router (the citizens' dialog and a leader helping someone answer),
so a photo, a voice note or a location means the same thing wherever it arrives.
"""

from __future__ import annotations

from aiogram.types import Message

from dialogs.events import ContactInput, Event, LocationInput, MediaInput, TextInput


def event_of(message: Message) -> Event | None:
    """What the citizen sent, as the engine understands it (None: nothing usable)."""
    if message.location is not None:
        return LocationInput(message.location.latitude, message.location.longitude)
    if message.contact is not None:
        own = message.contact.user_id is None or (
            message.from_user is not None and message.contact.user_id == message.from_user.id
        )
        return ContactInput(message.contact.phone_number, own)
    if message.photo:
        return MediaInput("photo", message.photo[-1].file_id)
    if message.voice is not None:
        return MediaInput("voice", message.voice.file_id, message.voice.duration)
    for kind in ("audio", "video", "video_note", "document", "sticker", "animation"):
        media = getattr(message, kind)
        if media is not None:
            return MediaInput(kind, media.file_id)
    if message.text is not None:
        return TextInput(message.text)
    return None
