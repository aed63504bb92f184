"""The emulator holds bots to api.json and to the limits Telegram states in prose."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from emulator.errors import BotApiError
from emulator.server import Emulator
from emulator.spec import BUNDLED_SPEC, SHARED_SPEC, BotApiSpec, check_message_text

BotCall = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]

SPEC = BotApiSpec.load(BUNDLED_SPEC)
RAW_SPEC: dict[str, Any] = json.loads(BUNDLED_SPEC.read_text(encoding="utf-8"))


IMPLEMENTED = sorted(Emulator().api.handlers)


def sample(type_name: str) -> Any:
    """A minimal well-typed value, so a test can leave out exactly one field."""
    if type_name.startswith("Array of "):
        return [sample(type_name.removeprefix("Array of "))]
    scalars: dict[str, Any] = {
        "Integer": 1,
        "Float": 1.0,
        "Boolean": True,
        "String": "x",
        "InputFile": "x",
    }
    if type_name in scalars:
        return scalars[type_name]
    spec = RAW_SPEC["types"][type_name]
    if "subtypes" in spec:
        return sample(spec["subtypes"][0])
    return {f["name"]: sample(f["types"][0]) for f in spec.get("fields", []) if f["required"]}


def test_bundled_spec_matches_shared_copy() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip("../shared/telegram-bot-api is not next to this checkout")
    assert BUNDLED_SPEC.read_bytes() == SHARED_SPEC.read_bytes()


def test_every_implemented_method_is_in_the_spec() -> None:
    assert set(IMPLEMENTED) <= SPEC.method_names
    assert {"getMe", "getUpdates", "sendMessage", "setWebhook", "getFile"} <= set(IMPLEMENTED)


@pytest.mark.parametrize(
    ("method", "field"),
    [
        (method, f.name)
        for method in IMPLEMENTED
        for f in SPEC.fields_of(method).values()
        if f.required
    ],
)
def test_every_required_field_is_enforced(method: str, field: str) -> None:
    fields = SPEC.fields_of(method)
    params = {
        name: sample(spec.types[0])
        for name, spec in fields.items()
        if spec.required and name != field
    }
    with pytest.raises(BotApiError) as caught:
        SPEC.parse_call(method, params)
    assert caught.value.error_code == 400
    assert caught.value.description.startswith("Bad Request: ")


@pytest.mark.parametrize("method", IMPLEMENTED)
def test_unknown_fields_are_rejected(method: str) -> None:
    with pytest.raises(BotApiError) as caught:
        SPEC.parse_call(method, {"no_such_field": "1"})
    assert caught.value.error_code == 400
    assert "no_such_field" in caught.value.description


async def test_unknown_method_answers_404_in_telegram_shape(call: BotCall) -> None:
    assert await call("sendTelepathy", chat_id=1) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )


async def test_method_names_are_case_insensitive(call: BotCall) -> None:
    status, body = await call("GETME")
    assert status == 200
    assert body["result"]["is_bot"] is True


async def test_missing_required_field_over_http(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(5)
    status, body = await call("sendMessage", chat_id=5)
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


async def test_unknown_field_over_http(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(5)
    status, body = await call("sendMessage", chat_id=5, text="hi", colour="red")
    assert status == 400
    assert body["ok"] is False and body["error_code"] == 400


@pytest.mark.parametrize(
    "markup",
    [
        "<b>bold <i>both</b></i>",
        "<b>never closed",
        "<marquee>old</marquee>",
        "a < b",
        '<span class="red">x</span>',
        "closing only</b>",
    ],
)
def test_broken_html_cannot_be_parsed(markup: str) -> None:
    with pytest.raises(BotApiError) as caught:
        check_message_text(markup, "HTML")
    assert caught.value.description.startswith("Bad Request: can't parse entities")


def test_supported_html_becomes_plain_text_with_entities() -> None:
    source = (
        "<b>B</b><strong>S</strong><i>I</i><em>E</em><u>U</u><ins>N</ins><s>S</s>"
        '<strike>K</strike><del>D</del><a href="https://x.org">A</a><code>C</code>'
        '<pre>P</pre><tg-spoiler>T</tg-spoiler><span class="tg-spoiler">Z</span>'
        "<blockquote>Q</blockquote> &lt;ok&gt; &amp; &#33;"
    )
    text, entities = check_message_text(source, "HTML")
    assert text == "BSIEUNSKDACPTZQ <ok> & !"
    assert [e["type"] for e in entities][:3] == ["bold", "bold", "italic"]
    link = next(e for e in entities if e["type"] == "text_link")
    assert link["url"] == "https://x.org"


def test_text_length_is_counted_after_entity_parsing() -> None:
    check_message_text("<b>" + "a" * 4096 + "</b>", "HTML")
    with pytest.raises(BotApiError, match="message is too long"):
        check_message_text("a" * 4097, None)
    with pytest.raises(BotApiError, match="message text is empty"):
        check_message_text("<b></b>", "HTML")


async def test_caption_limit(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(5)
    status, body = await call(
        "sendPhoto", chat_id=5, photo="https://x.org/p.jpg", caption="c" * 1025
    )
    assert (status, body["description"]) == (400, "Bad Request: message caption is too long")


def _keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"inline_keyboard": [list(buttons)]}


async def test_callback_data_is_limited_to_64_bytes(emulator: Emulator, call: BotCall) -> None:
    emulator.citizens.create(5)
    ok = _keyboard({"text": "ok", "callback_data": "ż" * 32})
    assert (await call("sendMessage", chat_id=5, text="q", reply_markup=ok))[0] == 200
    too_long = _keyboard({"text": "no", "callback_data": "ż" * 32 + "x"})
    status, body = await call("sendMessage", chat_id=5, text="q", reply_markup=too_long)
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


@pytest.mark.parametrize(
    "button",
    [{"text": "none"}, {"text": "two", "callback_data": "a", "url": "https://x.org"}],
)
async def test_inline_button_needs_exactly_one_action(
    emulator: Emulator, call: BotCall, button: dict[str, Any]
) -> None:
    emulator.citizens.create(5)
    status, body = await call("sendMessage", chat_id=5, text="q", reply_markup=_keyboard(button))
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse inline keyboard button")


async def test_a_request_keyboard_with_a_skip_button_is_kept_and_pressed(
    emulator: Emulator, call: BotCall
) -> None:
    emulator.citizens.create(5)
    keyboard = {
        "keyboard": [[{"text": "📞 Share", "request_contact": True}], [{"text": "Skip"}]],
        "one_time_keyboard": True,
    }
    status, _ = await call("sendMessage", chat_id=5, text="Your number?", reply_markup=keyboard)
    assert status == 200
    shown, used = emulator.state.chats[5].reply_keyboard()
    assert shown is not None and shown["keyboard"][0][0]["request_contact"] is True
    assert not used
    shared = await emulator.citizens.press(5, "📞 Share", phone_number="+48 600 123 456")
    assert shared.kind == "contact"
    assert shared.content["contact"]["phone_number"] == "+48 600 123 456"
    skipped = await emulator.citizens.press(5, "Skip")
    assert (skipped.kind, skipped.text) == ("text", "Skip")
    with pytest.raises(KeyError):
        await emulator.citizens.press(5, "a button nobody sent")
    remove = {"remove_keyboard": True}
    assert (await call("sendMessage", chat_id=5, text="ok", reply_markup=remove))[0] == 200
    assert emulator.state.chats[5].reply_keyboard() == (None, False)


async def test_a_keyboard_button_makes_at_most_one_request(
    emulator: Emulator, call: BotCall
) -> None:
    emulator.citizens.create(5)
    both = {"keyboard": [[{"text": "x", "request_contact": True, "request_location": True}]]}
    status, body = await call("sendMessage", chat_id=5, text="q", reply_markup=both)
    assert status == 400 and "at most one request" in body["description"]
    assert emulator.state.refused[-1][0] == "sendMessage"
