"""The Bot API methods the emulator implements, acting on :class:`EmulatorState`.

Each method receives parameters already validated and coerced by :mod:`spec`, so
this module only holds behaviour: what Telegram does and which error it answers
when the call is well-formed but wrong (unknown chat, blocked user, old query).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from emulator.config import EmulatorConfig
from emulator.errors import BotApiError, bad_request, conflict, forbidden
from emulator.limits import RateLimiter
from emulator.spec import (
    BotApiSpec,
    Upload,
    check_caption,
    check_message_text,
    check_reply_markup,
)
from emulator.state import (
    Chat,
    ChatEvent,
    ChatMessage,
    CommandScopeKey,
    EmulatorState,
    MessageKind,
    StoredFile,
    WebhookSettings,
)
from emulator.webhook import WebhookDelivery

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class BotApi:
    """Dispatches a Bot API call by name to the method that emulates it."""

    def __init__(
        self,
        state: EmulatorState,
        spec: BotApiSpec,
        limiter: RateLimiter,
        config: EmulatorConfig,
        webhook: WebhookDelivery,
    ) -> None:
        self.state = state
        self.spec = spec
        self.limiter = limiter
        self.config = config
        self.webhook = webhook
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendVoice": self.send_voice,
            "sendLocation": self.send_location,
            "sendChatAction": self.send_chat_action,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "getFile": self.get_file,
        }

    async def call(
        self, method: str, raw: Mapping[str, Any], uploads: Mapping[str, Upload] | None = None
    ) -> Any:
        name = self.spec.canonical_method(method)
        handler = self.handlers.get(name)
        if handler is None:
            raise BotApiError(501, f"Not Implemented: the emulator does not emulate {name}")
        try:
            return await handler(self.spec.parse_call(name, raw, uploads))
        except BotApiError as error:
            self.state.refused.append((name, error.description))
            raise

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.config.bot_id,
            "is_bot": True,
            "first_name": self.config.bot_first_name,
            "username": self.config.bot_username,
        }

    # --- identity and updates -----------------------------------------------------

    async def get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        state = self.state
        if state.webhook is not None:
            raise conflict(
                "can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first"
            )
        if "allowed_updates" in params:
            state.allowed_updates = params["allowed_updates"] or None
        offset = params.get("offset", 0)
        if offset > 0:
            state.confirm_updates_before(offset)
        elif offset < 0:
            state.updates = state.updates[offset:]
        limit = min(max(params.get("limit", 100), 1), 100)
        timeout = min(max(params.get("timeout", 0), 0), self.config.max_long_poll_seconds)
        await state.wait_until(lambda: bool(self._allowed_pending()), timeout)
        return [update.to_json() for update in self._allowed_pending()[:limit]]

    def _allowed_pending(self) -> list[Any]:
        allowed = self.state.allowed_updates
        if allowed:
            # Unwanted kinds are dropped for good, as Telegram never delivers them.
            self.state.updates = [u for u in self.state.updates if u.kind in allowed]
        return self.state.updates

    async def set_webhook(self, params: dict[str, Any]) -> bool:
        url: str = params["url"]
        if not url.startswith(("http://", "https://")):
            # Telegram insists on https; the emulator also takes http for local bots.
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.state.drop_pending_updates()
        self.state.webhook = WebhookSettings(
            url=url,
            secret_token=secret,
            max_connections=params.get("max_connections", 40),
            allowed_updates=params.get("allowed_updates") or None,
            ip_address=params.get("ip_address"),
        )
        self.webhook.restart()
        return True

    async def delete_webhook(self, params: dict[str, Any]) -> bool:
        self.state.webhook = None
        self.webhook.restart()
        if params.get("drop_pending_updates"):
            self.state.drop_pending_updates()
        return True

    async def get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hook = self.state.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            for key in ("ip_address", "last_error_date", "last_error_message"):
                value = getattr(hook, key)
                if value is not None:
                    info[key] = value
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
        return info

    # --- sending ------------------------------------------------------------------

    def _target_chat(self, chat_id: int | str) -> Chat:
        chat = self.state.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        if chat.type == "private" and self.state.users[chat.id].blocked_bot:
            raise forbidden("bot was blocked by the user")
        return chat

    def _admit(self, chat: Chat, params: dict[str, Any]) -> None:
        self.limiter.admit(
            chat.id,
            is_group=chat.type != "private",
            paid_broadcast=bool(params.get("allow_paid_broadcast")),
        )

    def _post(self, chat: Chat, kind: MessageKind, **fields: Any) -> dict[str, Any]:
        message = self.state.add_message(
            chat, sender_id=self.config.bot_id, from_bot=True, kind=kind, **fields
        )
        return self.state.message_json(message, self.bot_user())

    async def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params["chat_id"])
        text, entities = check_message_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        check_reply_markup(params.get("reply_markup"))
        self._admit(chat, params)
        return self._post(
            chat,
            "text",
            text=text,
            source_text=params["text"],
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=params.get("reply_markup"),
        )

    async def _send_media(
        self, params: dict[str, Any], kind: MessageKind, field: str, folder: str
    ) -> dict[str, Any]:
        chat = self._target_chat(params["chat_id"])
        caption, entities = check_caption(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )
        check_reply_markup(params.get("reply_markup"))
        stored = self._media_file(params[field], folder)
        self._admit(chat, params)
        return self._post(
            chat,
            kind,
            caption=caption,
            source_text=params.get("caption"),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=params.get("reply_markup"),
            file_id=stored.file_id,
            content={field: _media_json(kind, stored, params)},
        )

    def _media_file(self, media: Upload | str, folder: str) -> StoredFile:
        if isinstance(media, Upload):
            return self.state.store_file(
                media.data, folder, file_name=media.filename, mime_type=media.content_type
            )
        known = self.state.files.get(media)
        if known is not None:
            return known
        if media.startswith(("http://", "https://")):
            name = media.rsplit("/", 1)[-1] or None
            return self.state.store_file(b"", folder, file_name=name, mime_type=None)
        raise bad_request("wrong file identifier/HTTP URL specified")

    async def send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "photo", "photo", "photos")

    async def send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._send_media(params, "document", "document", "documents")

    async def send_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        media = params["voice"]
        if isinstance(media, Upload) and not _voice_format(media.data):
            # Telegram: the audio must be OGG/Opus, MP3 or M4A to be a voice message;
            # "other formats may be sent as Audio or Document".
            return await self._send_media(
                {**params, "document": media}, "document", "document", "documents"
            )
        if isinstance(media, Upload) and media.data[:4] == b"OggS":
            # Served back (the playground's player, tests) as what Telegram says it is.
            params = {**params, "voice": replace(media, content_type="audio/ogg")}
        return await self._send_media(params, "voice", "voice", "voice")

    async def send_location(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params["chat_id"])
        latitude, longitude = params["latitude"], params["longitude"]
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong location specified")
        check_reply_markup(params.get("reply_markup"))
        self._admit(chat, params)
        return self._post(
            chat,
            "location",
            reply_markup=params.get("reply_markup"),
            content={"location": {"latitude": latitude, "longitude": longitude}},
        )

    async def send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params["chat_id"])
        if params["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # --- changing what was sent -----------------------------------------------------

    def _bot_message(self, params: dict[str, Any], missing: str) -> ChatMessage:
        if "inline_message_id" in params:
            raise bad_request("the emulator does not support inline messages")
        if "chat_id" not in params or "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self._target_chat(params["chat_id"])
        message = chat.messages.get(params["message_id"])
        if message is None or message.deleted:
            raise bad_request(missing)
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _edited(self, message: ChatMessage) -> dict[str, Any]:
        message.edit_date = self.state.unix_now()
        self.state.notify(ChatEvent(message.chat_id, "edited", message.message_id))
        return self.state.message_json(message, self.bot_user())

    async def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._bot_message(params, "message to edit not found")
        if "text" not in params:
            raise bad_request("message text is empty")
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        text, entities = check_message_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        if text == message.text and entities == message.entities and markup == message.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        message.text, message.entities, message.reply_markup = text, entities, markup
        message.source_text, message.parse_mode = params["text"], params.get("parse_mode")
        return self._edited(message)

    async def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._bot_message(params, "message to edit not found")
        markup = params.get("reply_markup")
        check_reply_markup(markup)
        if markup == message.reply_markup or (not markup and not message.reply_markup):
            raise bad_request(_NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(message)

    async def delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params["chat_id"])
        message = chat.messages.get(params["message_id"])
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        self.state.notify(ChatEvent(chat.id, "deleted", message.message_id))
        return True

    async def answer_callback_query(self, params: dict[str, Any]) -> bool:
        record = self.state.callback_queries.get(params["callback_query_id"])
        too_old = (
            record is not None
            and time.monotonic() - record.tapped_at > self.config.callback_answer_seconds
        )
        if record is None or record.answered or too_old:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(params.get("text", "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record.answered = True
        record.text = params.get("text")
        record.show_alert = bool(params.get("show_alert"))
        record.url = params.get("url")
        self.state.notify(ChatEvent(record.chat_id, "callback_answered", record.message_id))
        return True

    # --- commands and files ---------------------------------------------------------

    def _scope_key(self, params: dict[str, Any]) -> CommandScopeKey:
        scope = params.get("scope") or {"type": "default"}
        chat_id: int | None = None
        if "chat_id" in scope:
            target = scope["chat_id"]
            if not isinstance(target, int) or target not in self.state.chats:
                raise bad_request("chat not found")
            chat_id = target
        return (str(scope["type"]), chat_id, params.get("language_code", ""))

    async def set_my_commands(self, params: dict[str, Any]) -> bool:
        commands: list[dict[str, Any]] = params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not _COMMAND_NAME.fullmatch(str(command["command"])):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command["description"])) <= 256:
                raise bad_request("command description must be 1-256 characters")
        key = self._scope_key(params)
        stored = [{"command": c["command"], "description": c["description"]} for c in commands]
        if stored:
            self.state.commands[key] = stored
        else:
            self.state.commands.pop(key, None)
        return True

    async def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.state.commands.get(self._scope_key(params), [])

    async def delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.state.commands.pop(self._scope_key(params), None)
        return True

    async def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.state.files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.to_json()


def _voice_format(data: bytes) -> bool:
    """OGG/Opus, MP3 or M4A: what Telegram shows as a voice message."""
    ogg_opus = data[:4] == b"OggS" and b"OpusHead" in data[:128]
    mp3 = data[:3] == b"ID3" or data[:2] in {b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"}
    m4a = data[4:8] == b"ftyp"
    return ogg_opus or mp3 or m4a


def _media_json(kind: MessageKind, stored: StoredFile, params: dict[str, Any]) -> Any:
    base = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if kind == "photo":
        return [{**base, "width": 800, "height": 600}]
    if kind == "voice":
        return {**base, "duration": params.get("duration", 1), "mime_type": "audio/ogg"}
    document = dict(base)
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return document
