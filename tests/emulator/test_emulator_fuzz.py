"""Whatever a bot sends, the emulator answers as Telegram does: a result or a Bot API
error (400, 403, 404), never a crash. A bot under test that sends garbage must learn
it from the error, not from a dead emulator."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from emulator import Emulator, EmulatorConfig
from emulator.config import RateLimitConfig
from emulator.errors import BotApiError
from emulator.formatting import parse_html, utf16_length

CITIZEN = 42

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
# Mostly near-valid values, so the fuzz gets past the first check.
html_pieces = [*list("ab <>/&;\"'=🌐"), "<b>", "</b>", "<i>", "</i>", "<a href='x'>", "&amp;"]
html_texts = st.lists(st.sampled_from(html_pieces), max_size=25).map("".join)
markups = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "inline_keyboard": st.lists(
                st.lists(
                    st.dictionaries(
                        st.sampled_from(["text", "callback_data", "url", "pay"]),
                        st.one_of(st.text(max_size=70), st.booleans()),
                    ),
                    max_size=3,
                ),
                max_size=3,
            )
        }
    ),
)


def emulator() -> Emulator:
    emu = Emulator(EmulatorConfig(rate_limits=RateLimitConfig(enabled=False)))
    emu.citizens.create(CITIZEN, "Anna", "pl")
    return emu


def calls() -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    names = [*sorted(emulator().api.handlers), "sendmessage", "noSuchMethod"]
    fields = {
        "chat_id": st.one_of(st.just(CITIZEN), json_values),
        "text": st.one_of(html_texts, json_values),
        "caption": st.one_of(html_texts, json_values),
        "parse_mode": st.sampled_from(["HTML", "html", "MarkdownV2", "nonsense", None]),
        "reply_markup": markups,
        "message_id": st.one_of(st.integers(-2, 5), json_values),
        "latitude": json_values,
        "longitude": json_values,
        "offset": json_values,
        "timeout": st.just(0),
        "url": json_values,
        "commands": json_values,
        "file_id": json_values,
        "callback_query_id": json_values,
    }
    params = st.dictionaries(st.sampled_from(sorted(fields)), st.none(), max_size=6).flatmap(
        lambda keys: (
            st.fixed_dictionaries({key: fields[key] for key in keys})
            | st.dictionaries(st.text(max_size=8), json_values, max_size=3)
        )
    )
    near_valid = st.tuples(
        st.sampled_from(["sendMessage", "editMessageText", "editMessageReplyMarkup"]),
        st.fixed_dictionaries(
            {"chat_id": st.just(CITIZEN), "text": html_texts},
            optional={
                "parse_mode": st.just("HTML"),
                "reply_markup": markups,
                "message_id": st.integers(1, 3),
            },
        ),
    )
    return st.tuples(st.sampled_from(names), params) | near_valid


@settings(max_examples=400, deadline=None)
@given(st.lists(calls(), min_size=1, max_size=5))
def test_any_call_is_answered_with_a_result_or_a_telegram_error(
    sequence: list[tuple[str, dict[str, Any]]],
) -> None:
    async def play() -> None:
        emu = emulator()
        for method, params in sequence:
            try:
                await emu.api.call(method, params)
            except BotApiError as error:
                assert error.error_code in (400, 403, 404, 409, 501), error.to_json()
                assert error.description
                event(f"error {error.error_code}")
            else:
                event(f"{method} accepted")

    asyncio.run(play())


@given(html_texts)
def test_html_parsing_gives_text_with_entities_inside_it_or_cant_parse(source: str) -> None:
    try:
        plain, entities = parse_html(source)
    except BotApiError as error:
        assert error.error_code == 400 and "can't parse entities" in error.description
        return
    length = utf16_length(plain)
    for entity in entities:
        assert entity["offset"] >= 0 and entity["length"] > 0
        assert entity["offset"] + entity["length"] <= length
