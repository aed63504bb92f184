"""The playground shows bot messages as Telegram would, and nothing can inject markup.

Message text and entities come from the bot (and, through it, from flow authors and
citizens), so the renderer is a parser of outside input: besides examples, hypothesis
throws arbitrary text and arbitrary entities at it and checks the page stays safe.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.formatting import parse_html, utf16_length
from emulator.playground import entities_to_html, parse_jump
from emulator.playground.view import reply_keyboard
from emulator.state import Chat, ChatMessage

ALLOWED_TAGS = {"b", "i", "u", "s", "code", "pre", "span", "blockquote", "a"}


class _Collector(HTMLParser):
    """Text and tags of rendered HTML, checking that every tag is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def collect(rendered: str) -> _Collector:
    collector = _Collector()
    collector.feed(rendered)
    collector.close()
    assert not collector.stack, f"unclosed {collector.stack}"
    return collector


def render_bot_html(source: str) -> str:
    """What the page shows for a message the bot sent with parse_mode=HTML."""
    text, entities = parse_html(source)
    return entities_to_html(text, entities)


def test_telegram_formatting_shows_as_it_does_in_telegram() -> None:
    shown = render_bot_html(
        "<i>3/11</i>\nJak <b>pilne</b> to jest? <a href='https://x.pl/a?b=1&amp;c=2'>Więcej</a>"
    )
    assert shown == (
        "<i>3/11</i>\nJak <b>pilne</b> to jest? "
        '<a href="https://x.pl/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">Więcej</a>'
    )


def test_a_script_in_a_message_stays_text() -> None:
    shown = render_bot_html("&lt;script&gt;alert(1)&lt;/script&gt; <b>&lt;img onerror=x&gt;</b>")
    assert "<script>" not in shown and "<img" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def test_a_javascript_link_is_shown_but_not_followed() -> None:
    shown = render_bot_html('<a href="javascript:alert(1)">kliknij</a>')
    assert shown == '<a class="unsafe-link">kliknij</a>'


def test_commands_and_addresses_in_plain_text_are_tappable_like_in_telegram() -> None:
    shown = entities_to_html("Wyślij /delete albo zajrzyj na https://slupsk.pl. and/or /x_1")
    assert '<a class="command" href="#" data-command="/delete">/delete</a>' in shown
    assert '<a href="https://slupsk.pl" target="_blank" rel="noopener noreferrer">' in shown
    assert "and/or" in shown and 'data-command="/or"' not in shown
    assert 'data-command="/x_1"' in shown


def test_offsets_count_utf16_like_telegram() -> None:
    text = "🙂 dobrze 🙂 bardzo"
    start = utf16_length("🙂 dobrze 🙂 ")
    shown = entities_to_html(text, [{"type": "bold", "offset": start, "length": 6}])
    assert shown == "🙂 dobrze 🙂 <b>bardzo</b>"


def test_overlapping_entities_are_reopened_so_the_html_stays_well_formed() -> None:
    shown = entities_to_html(
        "abcdef",
        [{"type": "bold", "offset": 0, "length": 4}, {"type": "italic", "offset": 2, "length": 4}],
    )
    assert shown == "<b>ab<i>cd</i></b><i>ef</i>"


ENTITY_TYPES = [
    "bold", "italic", "underline", "strikethrough", "code", "pre", "spoiler", "blockquote",
    "expandable_blockquote", "text_link", "url", "email", "mention", "bot_command", "nonsense",
]  # fmt: skip
entity = st.fixed_dictionaries(
    {
        "type": st.sampled_from(ENTITY_TYPES),
        "offset": st.integers(-3, 40),
        "length": st.integers(-3, 40),
    },
    optional={"url": st.text(max_size=30)},
)


@given(
    text=st.text(max_size=40),
    entities=st.lists(st.one_of(entity, st.none(), st.integers()), max_size=6),
)
def test_any_text_and_entities_render_safely_and_keep_the_text(
    text: str, entities: list[Any]
) -> None:
    shown = entities_to_html(text, entities)
    parsed = collect(shown)
    assert "".join(parsed.text) == text
    for tag, attributes in parsed.tags:
        assert tag in ALLOWED_TAGS
        assert not any(name.startswith("on") for name in attributes)
        href = attributes.get("href")
        if href is not None:
            assert href == "#" or href.lower().startswith(
                ("http://", "https://", "mailto:", "tg://")
            )


def _message(message_id: int, from_bot: bool, markup: dict[str, Any] | None) -> ChatMessage:
    return ChatMessage(message_id, 7, 1, from_bot, "text", 0, text="x", reply_markup=markup)


LOCATION_KEYBOARD = {
    "keyboard": [[{"text": "📍 Wyślij lokalizację", "request_location": True}]],
    "one_time_keyboard": True,
    "resize_keyboard": True,
}


def test_the_location_keyboard_shows_until_used_and_goes_when_removed() -> None:
    chat = Chat(7, "private")
    chat.messages[1] = _message(1, True, LOCATION_KEYBOARD)
    keyboard = reply_keyboard(chat)
    assert keyboard is not None and not keyboard["hidden"]
    assert keyboard["rows"] == [[{"text": "📍 Wyślij lokalizację", "request": "location"}]]
    chat.messages[2] = _message(2, False, None)
    assert reply_keyboard(chat) == {**keyboard, "hidden": True}  # one-time: folded away
    chat.messages[3] = _message(3, True, {"remove_keyboard": True})
    assert reply_keyboard(chat) is None


@pytest.mark.parametrize(
    ("body", "hours"),
    [({"days": 14}, 14 * 24), ({"hours": "2"}, 2), ({"days": 1, "hours": 1.5}, 25.5)],
)
def test_time_travel_takes_hours_and_days(body: dict[str, Any], hours: float) -> None:
    assert parse_jump(body).total_seconds() == hours * 3600


@pytest.mark.parametrize(
    "body",
    [{}, {"days": 0}, {"days": -1}, {"hours": "soon"}, {"days": True}, {"days": "nan"},
     {"days": "inf"}, {"days": 4000}, {"days": [1]}],
)  # fmt: skip
def test_time_travel_refuses_going_back_and_nonsense(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        parse_jump(body)
