"""Tests play citizens through this: type, tap, share a location, block the bot.

Every action produces the update Telegram would send (``message``,
``callback_query``, ``edited_message``, ``my_chat_member``) with increasing
``update_id``, queued for getUpdates or pushed to the webhook, so the bot under test
cannot tell the emulator from a phone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from emulator.state import (
    CallbackQueryRecord,
    Chat,
    ChatMessage,
    Citizen,
    EmulatorState,
    MessageKind,
)

#: A few bytes that look like the start of an Ogg/Opus voice note and a JPEG.
_VOICE_BYTES = b"OggS\x00\x02" + b"\x00" * 32
_PHOTO_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9"


class Citizens:
    def __init__(self, state: EmulatorState, bot_user: Callable[[], dict[str, Any]]) -> None:
        self.state = state
        self._bot_user = bot_user

    # --- who they are ---------------------------------------------------------------

    def create(
        self,
        user_id: int,
        first_name: str | None = None,
        language_code: str | None = "en",
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> Citizen:
        """Create (or update) a citizen; their private chat with the bot exists at once."""
        if user_id <= 0:
            raise ValueError("user ids are positive; groups use negative ids")
        citizen = self.state.users.get(user_id)
        if citizen is None:
            citizen = Citizen(user_id, first_name or f"Citizen {user_id}", language_code)
            self.state.users[user_id] = citizen
        else:
            citizen.first_name = first_name or citizen.first_name
            citizen.language_code = language_code
        citizen.last_name, citizen.username = last_name, username
        self.state.private_chat(citizen)
        return citizen

    def get(self, user_id: int) -> Citizen:
        """The citizen with this id, created with defaults on first use."""
        return self.state.users.get(user_id) or self.create(user_id)

    def set_language(self, user_id: int, language_code: str | None) -> Citizen:
        citizen = self.get(user_id)
        citizen.language_code = language_code
        return citizen

    def block(self, user_id: int) -> None:
        """The citizen blocks the bot: sends then fail with 403, the bot hears of it."""
        self._set_blocked(user_id, blocked=True)

    def unblock(self, user_id: int) -> None:
        self._set_blocked(user_id, blocked=False)

    def _set_blocked(self, user_id: int, *, blocked: bool) -> None:
        citizen = self.get(user_id)
        if citizen.blocked_bot == blocked:
            return
        citizen.blocked_bot = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        bot = self._bot_user()
        self.state.enqueue_update(
            "my_chat_member",
            {
                "chat": self.state.chat_json(self.state.private_chat(citizen)),
                "from": citizen.to_json(),
                "date": self.state.unix_now(),
                "old_chat_member": _membership(old, bot),
                "new_chat_member": _membership(new, bot),
            },
        )

    def create_group(self, chat_id: int, title: str, member_ids: list[int]) -> Chat:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = Chat(id=chat_id, type="group", title=title)
        for member_id in member_ids:
            chat.member_ids.add(self.get(member_id).id)
        self.state.chats[chat_id] = chat
        return chat

    # --- what they send ---------------------------------------------------------------

    def _chat_for(self, citizen: Citizen, chat_id: int | None) -> Chat:
        if chat_id is None or chat_id == citizen.id:
            return self.state.private_chat(citizen)
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"no chat {chat_id}; create the group first")
        chat.member_ids.add(citizen.id)
        return chat

    def _say(
        self, user_id: int, chat_id: int | None, kind: MessageKind, **fields: Any
    ) -> ChatMessage:
        citizen = self.get(user_id)
        chat = self._chat_for(citizen, chat_id)
        message = self.state.add_message(
            chat, sender_id=citizen.id, from_bot=False, kind=kind, **fields
        )
        self.state.enqueue_update("message", self.state.message_json(message, citizen.to_json()))
        return message

    async def send_text(
        self, user_id: int, text: str, *, chat_id: int | None = None
    ) -> ChatMessage:
        """Type a message; ``/start payload`` carries a ``bot_command`` entity like Telegram."""
        entities: list[dict[str, Any]] = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities.append({"type": "bot_command", "offset": 0, "length": len(command)})
        return self._say(user_id, chat_id, "text", text=text, entities=entities)

    async def send_location(
        self, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> ChatMessage:
        location = {"latitude": latitude, "longitude": longitude}
        return self._say(user_id, chat_id, "location", content={"location": location})

    async def send_contact(
        self,
        user_id: int,
        phone_number: str,
        first_name: str | None = None,
        *,
        chat_id: int | None = None,
    ) -> ChatMessage:
        citizen = self.get(user_id)
        contact = {
            "phone_number": phone_number,
            "first_name": first_name or citizen.first_name,
            "user_id": citizen.id,
        }
        return self._say(user_id, chat_id, "contact", content={"contact": contact})

    async def press(
        self,
        user_id: int,
        text: str,
        *,
        phone_number: str = "+48 600 100 200",
        location: tuple[float, float] = (54.4641, 17.0287),
        chat_id: int | None = None,
    ) -> ChatMessage:
        """Press a button of the keyboard under the input field, by its text: a
        ``request_contact`` one shares ``phone_number``, a ``request_location`` one
        shares ``location``, any other sends its text, as Telegram does."""
        citizen = self.get(user_id)
        chat = self._chat_for(citizen, chat_id)
        markup, _ = chat.reply_keyboard()
        rows = (markup or {}).get("keyboard", [])
        buttons = [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]
        button = next((b for b in buttons if b.get("text") == text), None)
        if button is None:
            shown = [b.get("text") for b in buttons]
            raise KeyError(f"chat {chat.id} has no keyboard button {text!r}; it shows {shown}")
        if button.get("request_contact"):
            return await self.send_contact(user_id, phone_number, chat_id=chat_id)
        if button.get("request_location"):
            return await self.send_location(user_id, *location, chat_id=chat_id)
        return await self.send_text(user_id, text, chat_id=chat_id)

    async def send_photo(
        self,
        user_id: int,
        data: bytes = _PHOTO_BYTES,
        caption: str | None = None,
        *,
        chat_id: int | None = None,
    ) -> ChatMessage:
        """Send a photo the bot can fetch with getFile and download."""
        stored = self.state.store_file(
            data, "photos", file_name="photo.jpg", mime_type="image/jpeg"
        )
        sizes = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(data),
                "width": 1280,
                "height": 960,
            }
        ]
        return self._say(
            user_id,
            chat_id,
            "photo",
            caption=caption,
            file_id=stored.file_id,
            content={"photo": sizes},
        )

    async def send_voice(
        self,
        user_id: int,
        data: bytes = _VOICE_BYTES,
        duration: int = 3,
        *,
        chat_id: int | None = None,
    ) -> ChatMessage:
        stored = self.state.store_file(data, "voice", file_name="voice.oga", mime_type="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(data),
            "duration": duration,
            "mime_type": "audio/ogg",
        }
        return self._say(
            user_id, chat_id, "voice", file_id=stored.file_id, content={"voice": voice}
        )

    async def send_sticker(
        self, user_id: int, emoji: str = "👍", *, chat_id: int | None = None
    ) -> ChatMessage:
        stored = self.state.store_file(
            b"RIFF" + b"\x00" * 16, "stickers", file_name="sticker.webp", mime_type="image/webp"
        )
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._say(
            user_id, chat_id, "sticker", file_id=stored.file_id, content={"sticker": sticker}
        )

    async def forward_text(
        self,
        user_id: int,
        text: str,
        *,
        original_sender_name: str = "Someone",
        chat_id: int | None = None,
    ) -> ChatMessage:
        """Forward a text from someone who hides their account (the common case)."""
        origin = {
            "type": "hidden_user",
            "sender_user_name": original_sender_name,
            "date": self.state.unix_now(),
        }
        return self._say(user_id, chat_id, "text", text=text, content={"forward_origin": origin})

    async def edit_text(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> ChatMessage:
        """Edit one of the citizen's own messages: the bot gets ``edited_message``."""
        citizen = self.get(user_id)
        chat = self._chat_for(citizen, chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.from_bot or message.sender_id != citizen.id:
            raise KeyError(f"citizen {user_id} has no message {message_id} in chat {chat.id}")
        message.text = text
        message.edit_date = self.state.unix_now()
        self.state.enqueue_update(
            "edited_message", self.state.message_json(message, citizen.to_json())
        )
        return message

    async def tap(
        self,
        user_id: int,
        message_id: int,
        callback_data: str | None = None,
        *,
        button_text: str | None = None,
        chat_id: int | None = None,
    ) -> CallbackQueryRecord:
        """Tap an inline button, by its label on the current keyboard or by callback data.

        Callback data is taken as given, even if the message's keyboard no longer has
        it: a citizen's phone may still show a keyboard the bot has since replaced.
        """
        citizen = self.get(user_id)
        chat = self._chat_for(citizen, chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted or not message.from_bot:
            raise KeyError(f"no bot message {message_id} in chat {chat.id}")
        if callback_data is None:
            callback_data = _callback_data_for_label(message, button_text)
        record = CallbackQueryRecord(
            id=secrets.token_hex(8),
            user_id=citizen.id,
            chat_id=chat.id,
            message_id=message.message_id,
            data=callback_data,
        )
        self.state.callback_queries[record.id] = record
        self.state.enqueue_update(
            "callback_query",
            {
                "id": record.id,
                "from": citizen.to_json(),
                "message": self.state.message_json(message, self._bot_user()),
                "chat_instance": str(chat.id),
                "data": callback_data,
            },
        )
        return record


def _callback_data_for_label(message: ChatMessage, label: str | None) -> str:
    if label is None:
        raise ValueError("tap needs callback_data or button_text")
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    for row in rows:
        for button in row:
            if button.get("text") == label and "callback_data" in button:
                return str(button["callback_data"])
    raise KeyError(f"message {message.message_id} has no callback button {label!r}")


def _membership(status: str, bot: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": bot}
    if status == "kicked":
        member["until_date"] = 0
    return member
