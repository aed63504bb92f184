"""A test plays citizens, in-process and over ``/_test`` HTTP, and reads what the bot did."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from emulator import Emulator

BotCall = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]
KEYBOARD = {"inline_keyboard": [[{"text": "Yes", "callback_data": "q1:yes"}]]}


async def _updates(call: BotCall) -> list[dict[str, Any]]:
    _, body = await call("getUpdates")
    result: list[dict[str, Any]] = body["result"]
    if result:
        await call("getUpdates", offset=result[-1]["update_id"] + 1)
    return result


async def test_tap_answer_and_edit_over_http(
    emulator: Emulator, call: BotCall, http: aiohttp.ClientSession
) -> None:
    base = f"{emulator.base_url}/_test"
    async with http.post(
        f"{base}/users", json={"id": 11, "first_name": "Ola", "language_code": "uk"}
    ) as r:
        assert (await r.json())["language_code"] == "uk"
    async with http.post(f"{base}/users/11/text", json={"text": "/start"}) as r:
        assert r.status == 200
    await call(
        "sendMessage", chat_id=11, text="<b>Ready?</b>", parse_mode="HTML", reply_markup=KEYBOARD
    )
    async with http.get(f"{base}/chats/11/messages", params={"count": "1", "timeout": "1"}) as r:
        [sent] = (await r.json())["messages"]
    assert (sent["text"], sent["parse_mode"], sent["kind"]) == ("Ready?", "HTML", "text")

    async with http.post(
        f"{base}/users/11/tap", json={"message_id": sent["message_id"], "button_text": "Yes"}
    ) as r:
        tap = await r.json()
    updates = await _updates(call)
    query = updates[-1]["callback_query"]
    assert query["data"] == "q1:yes" and query["message"]["message_id"] == sent["message_id"]
    await call("answerCallbackQuery", callback_query_id=tap["id"], text="Thanks!")
    await call("editMessageText", chat_id=11, message_id=sent["message_id"], text="Thanks")
    async with http.get(f"{base}/callback_answers", params={"chat_id": "11"}) as r:
        [answer] = (await r.json())["callback_answers"]
    assert (answer["answered"], answer["text"], answer["show_alert"]) == (True, "Thanks!", False)
    async with http.get(f"{base}/chats/11/messages") as r:
        [edited] = (await r.json())["messages"]
    assert (edited["text"], edited["reply_markup"], edited["edited"]) == ("Thanks", None, True)
    status, body = await call("answerCallbackQuery", callback_query_id=tap["id"])
    assert status == 400 and "query is too old" in body["description"]


async def test_old_buttons_can_still_be_tapped(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(12)
    _, body = await call("sendMessage", chat_id=12, text="Q1", reply_markup=KEYBOARD)
    message_id = body["result"]["message_id"]
    await call("editMessageReplyMarkup", chat_id=12, message_id=message_id)
    record = await emulator.citizens.tap(12, message_id, "q1:yes")
    assert record.data == "q1:yes"
    assert emulator.bot_messages(12)[0].reply_markup is None


async def test_edit_with_same_content_is_not_modified(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(12)
    _, body = await call("sendMessage", chat_id=12, text="same")
    status, error = await call(
        "editMessageText", chat_id=12, message_id=body["result"]["message_id"], text="same"
    )
    assert status == 400 and "message is not modified" in error["description"]


async def test_delete_marks_the_message_deleted(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(12)
    _, body = await call("sendMessage", chat_id=12, text="oops")
    message_id = body["result"]["message_id"]
    assert (await call("deleteMessage", chat_id=12, message_id=message_id))[0] == 200
    assert emulator.bot_messages(12)[0].deleted
    assert (await call("deleteMessage", chat_id=12, message_id=message_id))[0] == 400


async def test_citizen_photo_can_be_fetched_and_downloaded(
    emulator: Emulator, call: BotCall, http: aiohttp.ClientSession
) -> None:
    picture = b"\xff\xd8 a broken pavement \xff\xd9"
    async with http.post(
        f"{emulator.base_url}/_test/users/13/photo",
        json={"caption": "here", "data_base64": base64.b64encode(picture).decode()},
    ) as r:
        assert r.status == 200
    [update] = await _updates(call)
    file_id = update["message"]["photo"][-1]["file_id"]
    _, body = await call("getFile", file_id=file_id)
    path = body["result"]["file_path"]
    async with http.get(f"{emulator.base_url}/file/bot{emulator.token}/{path}") as r:
        assert await r.read() == picture


async def test_every_kind_of_citizen_message_becomes_an_update(
    emulator: Emulator, call: BotCall
) -> None:
    citizens = emulator.citizens
    first = await citizens.send_text(14, "hello")
    await citizens.send_location(14, 52.23, 21.01)
    await citizens.send_contact(14, "+48 600 000 000")
    await citizens.send_voice(14, duration=4)
    await citizens.send_sticker(14)
    await citizens.forward_text(14, "read this", original_sender_name="Mayor")
    await citizens.edit_text(14, first.message_id, "hello again")
    citizens.create_group(-500, "Youth council", [14, 15])
    await citizens.send_text(15, "hi all", chat_id=-500)
    updates = await _updates(call)
    kinds = [next(k for k in u if k != "update_id") for u in updates]
    assert kinds == ["message"] * 6 + ["edited_message", "message"]
    messages = [u.get("message") or u["edited_message"] for u in updates]
    assert "location" in messages[1] and "contact" in messages[2]
    assert messages[3]["voice"]["duration"] == 4 and "sticker" in messages[4]
    assert messages[5]["forward_origin"]["sender_user_name"] == "Mayor"
    assert messages[6]["text"] == "hello again"
    assert messages[7]["chat"] == {"id": -500, "type": "group", "title": "Youth council"}
    ids = [u["update_id"] for u in updates]
    assert ids == sorted(set(ids))


async def test_documents_keep_their_bytes(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.citizens.create(16)
    form = aiohttp.FormData()
    form.add_field("chat_id", "16")
    form.add_field("document", "attach://report")
    form.add_field("reply_markup", '{"inline_keyboard": [[{"text": "ok", "callback_data": "ok"}]]}')
    form.add_field("report", b"a,b\n1,2\n", filename="answers.csv", content_type="text/csv")
    async with http.post(f"{emulator.base_url}/bot{emulator.token}/sendDocument", data=form) as r:
        assert r.status == 200, await r.text()
    [document] = emulator.bot_messages(16)
    assert document.kind == "document" and document.file_id is not None
    assert emulator.file_bytes(document.file_id) == b"a,b\n1,2\n"
    async with http.get(f"{emulator.base_url}/_test/files/{document.file_id}") as r:
        assert await r.read() == b"a,b\n1,2\n"


async def test_commands_per_scope_and_language(
    emulator: Emulator, call: BotCall, http: aiohttp.ClientSession
) -> None:
    emulator.citizens.create(17, language_code="pl")
    emulator.citizens.create(18, language_code="en")
    emulator.citizens.create(19, language_code="en")
    await call("setMyCommands", commands=[{"command": "start", "description": "Start"}])
    await call(
        "setMyCommands",
        commands=[{"command": "start", "description": "Zacznij"}],
        scope={"type": "all_private_chats"},
        language_code="pl",
    )
    await call(
        "setMyCommands",
        commands=[{"command": "broadcast", "description": "Send to my people"}],
        scope={"type": "chat", "chat_id": 19},
    )
    assert emulator.commands_for_chat(17) == [{"command": "start", "description": "Zacznij"}]
    assert emulator.commands_for_chat(18) == [{"command": "start", "description": "Start"}]
    async with http.get(f"{emulator.base_url}/_test/chats/19/commands") as r:
        assert (await r.json())["commands"][0]["command"] == "broadcast"
    _, body = await call("getMyCommands", scope={"type": "chat", "chat_id": 19})
    assert body["result"][0]["command"] == "broadcast"
    status, _ = await call("setMyCommands", commands=[{"command": "Bad-Name", "description": "x"}])
    assert status == 400


async def test_wait_for_messages_and_event_stream(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(20)
    events = emulator.state.subscribe()
    waiting = asyncio.create_task(emulator.wait_for_messages(20, count=2, timeout=2))
    await call("sendMessage", chat_id=20, text="one")
    await call("sendLocation", chat_id=20, latitude=50.06, longitude=19.94)
    sent = await waiting
    assert [m.kind for m in sent] == ["text", "location"]
    seen = [events.get_nowait() for _ in range(events.qsize())]
    assert {(e.chat_id, e.kind) for e in seen} == {(20, "message")}
    emulator.state.unsubscribe(events)


async def test_chat_action_and_unknown_action(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(21)
    assert (await call("sendChatAction", chat_id=21, action="typing"))[0] == 200
    assert (await call("sendChatAction", chat_id=21, action="dancing"))[0] == 400


async def test_a_reply_keyboard_button_is_pressed_over_http(
    emulator: Emulator, call: BotCall, http: aiohttp.ClientSession
) -> None:
    emulator.citizens.create(16)
    keyboard = {"keyboard": [[{"text": "📍 Here", "request_location": True}], [{"text": "Skip"}]]}
    assert (await call("sendMessage", chat_id=16, text="Where?", reply_markup=keyboard))[0] == 200
    press = f"{emulator.base_url}/_test/users/16/press"
    async with http.post(press, json={"text": "📍 Here"}) as r:
        assert r.status == 200
    async with http.post(press, json={"text": "Skip"}) as r:
        assert r.status == 200
    async with http.post(press, json={"text": "Nothing like it"}) as r:
        assert r.status == 404
    updates = await _updates(call)
    assert "location" in updates[0]["message"]
    assert updates[1]["message"]["text"] == "Skip"
