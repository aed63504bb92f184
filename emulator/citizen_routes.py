"""``/_test/...``: the citizen API over HTTP, for tests in another process.

An end-to-end test runs the real bot as a subprocess and the emulator wherever it
likes; a later web chat page drives the same endpoints from a browser. Bodies and
answers are JSON; unknown users and messages answer 404, bad input 400.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator.state import ChatMessage, Citizen

if TYPE_CHECKING:
    from emulator.core import EmulatedTelegram as Emulator

Action = Callable[["Emulator", int, dict[str, Any]], Awaitable[Any]]


def _opt_chat(body: dict[str, Any]) -> int | None:
    chat_id = body.get("chat_id")
    return None if chat_id is None else int(chat_id)


def _bytes(body: dict[str, Any], default: bytes) -> bytes:
    encoded = body.get("data_base64")
    return base64.b64decode(encoded) if encoded else default


async def _text(emu: Emulator, user_id: int, body: dict[str, Any]) -> ChatMessage:
    return await emu.citizens.send_text(user_id, str(body["text"]), chat_id=_opt_chat(body))


async def _tap(emu: Emulator, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    record = await emu.citizens.tap(
        user_id,
        int(body["message_id"]),
        body.get("callback_data"),
        button_text=body.get("button_text"),
        chat_id=_opt_chat(body),
    )
    return record.to_json()


async def _location(emu: Emulator, user_id: int, body: dict[str, Any]) -> ChatMessage:
    return await emu.citizens.send_location(
        user_id, float(body["latitude"]), float(body["longitude"]), chat_id=_opt_chat(body)
    )


async def _contact(emu: Emulator, user_id: int, body: dict[str, Any]) -> ChatMessage:
    return await emu.citizens.send_contact(
        user_id, str(body["phone_number"]), body.get("first_name"), chat_id=_opt_chat(body)
    )


async def _press(emu: Emulator, user_id: int, body: dict[str, Any]) -> ChatMessage:
    return await emu.citizens.press(user_id, str(body["text"]), chat_id=_opt_chat(body))


async def _photo(emu: Emulator, user_id: int, body: dict[str, Any]) -> ChatMessage:
    photo = await emu.citizens.send_photo(
        user_id, caption=body.get("caption"), chat_id=_opt_chat(body)
    )
    if body.get("data_base64"):
        emu.state.files[photo.file_id or ""].data = _bytes(body, b"")
    return photo


async def _voice(emu: Emulator, user_id: int, body: dict[str, Any]) -> ChatMessage:
    voice = await emu.citizens.send_voice(
        user_id, duration=int(body.get("duration", 3)), chat_id=_opt_chat(body)
    )
    if body.get("data_base64"):
        emu.state.files[voice.file_id or ""].data = _bytes(body, b"")
    return voice


async def _sticker(emu: Emulator, user_id: int, body: dict[str, Any]) -> ChatMessage:
    return await emu.citizens.send_sticker(
        user_id, str(body.get("emoji", "👍")), chat_id=_opt_chat(body)
    )


async def _forward(emu: Emulator, user_id: int, body: dict[str, Any]) -> ChatMessage:
    return await emu.citizens.forward_text(
        user_id,
        str(body["text"]),
        original_sender_name=str(body.get("original_sender_name", "Someone")),
        chat_id=_opt_chat(body),
    )


async def _edit(emu: Emulator, user_id: int, body: dict[str, Any]) -> ChatMessage:
    return await emu.citizens.edit_text(
        user_id, int(body["message_id"]), str(body["text"]), chat_id=_opt_chat(body)
    )


async def _language(emu: Emulator, user_id: int, body: dict[str, Any]) -> Citizen:
    return emu.citizens.set_language(user_id, body.get("language_code"))


async def _block(emu: Emulator, user_id: int, body: dict[str, Any]) -> Citizen:
    emu.citizens.block(user_id)
    return emu.citizens.get(user_id)


async def _unblock(emu: Emulator, user_id: int, body: dict[str, Any]) -> Citizen:
    emu.citizens.unblock(user_id)
    return emu.citizens.get(user_id)


ACTIONS: dict[str, Action] = {
    "text": _text,
    "tap": _tap,
    "location": _location,
    "contact": _contact,
    "press": _press,
    "photo": _photo,
    "voice": _voice,
    "sticker": _sticker,
    "forward": _forward,
    "edit": _edit,
    "language": _language,
    "block": _block,
    "unblock": _unblock,
}


def _to_json(value: Any) -> Any:
    if isinstance(value, ChatMessage):
        return value.summary()
    if isinstance(value, Citizen):
        return {**value.to_json(), "blocked_bot": value.blocked_bot}
    return value


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def add_citizen_routes(app: web.Application, emu: Emulator) -> None:
    def guarded(
        handler: Callable[[web.Request], Awaitable[Any]],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                result = await handler(request)
            except KeyError as error:
                return web.json_response({"error": str(error.args[0])}, status=404)
            except (ValueError, TypeError) as error:
                return web.json_response({"error": str(error)}, status=400)
            except TimeoutError as error:
                return web.json_response({"error": str(error)}, status=408)
            if isinstance(result, web.StreamResponse):
                return result
            return web.json_response(_to_json(result))

        return wrapper

    async def create_user(request: web.Request) -> Any:
        body = await _body(request)
        return emu.citizens.create(
            int(body["id"]),
            body.get("first_name"),
            body.get("language_code", "en"),
            last_name=body.get("last_name"),
            username=body.get("username"),
        )

    async def user_action(request: web.Request) -> Any:
        action = ACTIONS.get(request.match_info["action"])
        if action is None:
            raise KeyError(f"unknown action {request.match_info['action']!r}")
        return await action(emu, int(request.match_info["user_id"]), await _body(request))

    async def create_group(request: web.Request) -> Any:
        body = await _body(request)
        chat = emu.citizens.create_group(
            int(body["id"]), str(body.get("title", "Group")), [int(i) for i in body["member_ids"]]
        )
        return emu.state.chat_json(chat)

    async def messages(request: web.Request) -> Any:
        chat_id = int(request.match_info["chat_id"])
        count = int(request.query.get("count", "0"))
        if count:
            await emu.wait_for_messages(chat_id, count, float(request.query.get("timeout", "5")))
        chat = emu.chat(chat_id)
        every = request.query.get("all") in ("1", "true")
        shown = chat.messages.values() if every else chat.bot_messages()
        return {"messages": [message.summary() for message in shown]}

    async def commands(request: web.Request) -> Any:
        return {"commands": emu.commands_for_chat(int(request.match_info["chat_id"]))}

    async def callback_answers(request: web.Request) -> Any:
        chat_id = request.query.get("chat_id")
        records = emu.callback_answers(int(chat_id) if chat_id else None)
        return {"callback_answers": [record.to_json() for record in records]}

    async def file_bytes(request: web.Request) -> Any:
        stored = emu.state.files[request.match_info["file_id"]]
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def stats(request: web.Request) -> Any:
        return {
            **emu.stats.to_json(),
            "pending_updates": len(emu.state.updates),
            "webhook_delivered": emu.webhook.delivered,
            "webhook_failed_attempts": emu.webhook.failed_attempts,
        }

    async def reset_limits(request: web.Request) -> Any:
        emu.limiter.reset()
        return {"ok": True}

    app.router.add_post("/_test/users", guarded(create_user))
    app.router.add_post("/_test/users/{user_id}/{action}", guarded(user_action))
    app.router.add_post("/_test/groups", guarded(create_group))
    app.router.add_get("/_test/chats/{chat_id}/messages", guarded(messages))
    app.router.add_get("/_test/chats/{chat_id}/commands", guarded(commands))
    app.router.add_get("/_test/callback_answers", guarded(callback_answers))
    app.router.add_get("/_test/files/{file_id}", guarded(file_bytes))
    app.router.add_get("/_test/stats", guarded(stats))
    app.router.add_post("/_test/reset_limits", guarded(reset_limits))
