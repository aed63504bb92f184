"""The typed outbound message survives the outbox's JSON, and rows stored before it
existed still render to the same Bot API calls."""

from __future__ import annotations

from gettext import NullTranslations

from aiogram.methods import (
    DeleteMyCommands,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
)
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

from bot.telegram.callbacks import Tap
from bot.telegram.render import render
from dialogs.events import Button, Message
from konsulta.outbound import MenuCommand, Op, OutboundButton, OutboundMessage

TEXTS = NullTranslations()


def test_a_scale_question_round_trips_through_the_outbox_json() -> None:
    question = Message(
        "How safe do you feel? <3",
        "question",
        "safety",
        (*(Button(str(n), str(n), selected=n == 3) for n in range(1, 7)), Button("~back", "Back")),
        expects="scale",
        progress=(2, 9),
        allow_skip=True,
    )
    typed = OutboundMessage.from_engine(question, run_id=7, language="pl", edit_message_id=None)
    assert OutboundMessage.from_payload(typed.to_payload()) == typed
    call = render(42, typed, TEXTS)
    assert isinstance(call, SendMessage)
    assert call.text == "<i>2/9</i>\nHow safe do you feel? &lt;3"
    assert isinstance(call.reply_markup, InlineKeyboardMarkup)
    rows = call.reply_markup.inline_keyboard
    assert [len(row) for row in rows] == [5, 1, 1]
    assert rows[0][2].text == "✅ 3"
    assert rows[0][0].callback_data == Tap(run=7, step="safety", key="1").pack()


def test_a_row_written_before_the_type_existed_renders_the_same() -> None:
    old = {
        "language": "ar",
        "text": "Where do you live?",
        "role": "question",
        "step_id": "where",
        "run_id": 3,
        "buttons": [],
        "expects": "location",
        "progress": [1, 4],
        "allow_skip": False,
        "edit": False,
    }
    typed = OutboundMessage.from_payload(old)
    assert typed.role == "question" and typed.progress == (1, 4) and typed.run_id == 3
    for message in (old, typed):
        call = render(5, message, TEXTS)
        assert isinstance(call, SendMessage)
        assert isinstance(call.reply_markup, ReplyKeyboardMarkup)
        assert call.reply_markup.keyboard[0][0].request_location
        assert call.text.startswith("<i>\u200f\u2066" + "1/4")


def test_a_notice_removes_the_reply_keyboard_and_keeps_unknown_roles_plain() -> None:
    call = render(5, OutboundMessage("Saved.", "en", role="notice"), TEXTS)
    assert isinstance(call, SendMessage) and isinstance(call.reply_markup, ReplyKeyboardRemove)
    assert call.text == "ℹ️ Saved."
    stored = OutboundMessage.from_payload({"text": "Hi", "role": "mystery"})
    assert stored.role is None


def test_edits_closes_files_and_menus() -> None:
    edit = OutboundMessage("Pick", "en", role="question", edit=True, edit_message_id=9)
    assert isinstance(render(1, edit, TEXTS), EditMessageText)
    without_id = OutboundMessage("Pick", "en", role="question", edit=True)
    assert isinstance(render(1, without_id, TEXTS), SendMessage)

    closed = OutboundMessage.close_question(9, "Pick one", "Yes", language="en")
    call = render(1, OutboundMessage.from_payload(closed.to_payload()), TEXTS)
    assert isinstance(call, EditMessageText) and call.text == "Pick one\n\n✓ <b>Yes</b>"

    document = OutboundMessage.file("a.json", b"{}", "Your data", language="en")
    stored = document.to_payload()
    assert stored["forget"] is True and stored["document"]["content_base64"] == "e30="
    assert isinstance(render(1, stored, TEXTS), SendDocument)

    menu = OutboundMessage.set_commands([MenuCommand("start", "Begin")], language="en")
    assert OutboundMessage.from_payload(menu.to_payload()) == menu
    removed = OutboundMessage.set_commands([], language=None).to_payload()
    assert removed == {"text": "", "op": Op.SET_COMMANDS.value, "commands": []}
    assert isinstance(render(1, removed, TEXTS), DeleteMyCommands)


def test_link_and_leader_buttons_keep_their_own_targets() -> None:
    message = OutboundMessage(
        "Join",
        "en",
        role="broadcast",
        buttons=(
            OutboundButton("go", "Take part", url="https://t.me/x?start=abc"),
            OutboundButton("approve", "Approve", callback="la:approve:1:y"),
        ),
        delivery_id=5,
        broadcast_id=2,
        paid=True,
    )
    assert OutboundMessage.from_payload(message.to_payload()) == message
    call = render(1, message, TEXTS)
    assert isinstance(call, SendMessage) and isinstance(call.reply_markup, InlineKeyboardMarkup)
    go, approve = (row[0] for row in call.reply_markup.inline_keyboard)
    assert go.url == "https://t.me/x?start=abc" and approve.callback_data == "la:approve:1:y"


def test_an_optional_contact_question_has_the_request_button_and_skip_beside_it() -> None:
    question = Message(
        "Your phone number?",
        "question",
        "phone",
        (Button("~skip", "Skip"),),
        expects="contact",
        progress=(3, 4),
        allow_skip=True,
    )
    typed = OutboundMessage.from_engine(question, run_id=7, language="en", edit_message_id=None)
    for message in (typed, typed.to_payload()):
        call = render(42, message, TEXTS)
        assert isinstance(call, SendMessage)
        assert isinstance(call.reply_markup, ReplyKeyboardMarkup), "no inline Skip"
        [[share], [skip]] = call.reply_markup.keyboard
        assert share.request_contact and skip.text == "Skip" and not skip.request_contact
    required = Message("Your number?", "question", "phone", (), expects="contact")
    typed = OutboundMessage.from_engine(required, run_id=7, language="en", edit_message_id=None)
    call = render(42, typed, TEXTS)
    assert isinstance(call, SendMessage) and isinstance(call.reply_markup, ReplyKeyboardMarkup)
    assert len(call.reply_markup.keyboard) == 1

    receipt = render(42, OutboundMessage.receipt("+48600123456", language="en"), TEXTS)
    assert isinstance(receipt, SendMessage) and receipt.text == "✓ +48600123456"
    assert isinstance(receipt.reply_markup, ReplyKeyboardRemove)


def test_closing_a_stale_copy_takes_its_buttons_off_and_keeps_its_text() -> None:
    close = OutboundMessage.from_payload(OutboundMessage.close_keyboard(17).to_payload())
    call = render(42, close, TEXTS)
    assert isinstance(call, EditMessageReplyMarkup)
    assert (call.chat_id, call.message_id, call.reply_markup) == (42, 17, None)
