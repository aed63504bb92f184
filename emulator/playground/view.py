"""What the playground page shows of a chat: messages as safe HTML, keyboards, menus.

Telegram draws a message from its plain text and entities, never from the markup the
bot sent, so the page does the same: every character of text is escaped and only the
handful of tags below are ever written. Nothing a bot, a flow author or a citizen
quoted by the bot puts into a message can inject markup or script into the page.
Offsets are UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from emulator.state import Chat, ChatMessage, Citizen

#: Entity type -> (opening tag, closing tag). Types not listed show as plain text.
_TAGS: dict[str, tuple[str, str]] = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "spoiler": ('<span class="spoiler" tabindex="0">', "</span>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ('<blockquote class="expandable">', "</blockquote>"),
}
#: Entities whose text is a link already; nothing inside them is linkified again.
_LINK_TYPES = {"text_link", "url", "email"}
_NO_LINKIFY = {"code", "pre", *_LINK_TYPES}
SAFE_SCHEMES = ("http://", "https://", "mailto:", "tg://")

#: What Telegram turns into tappable links in plain text: URLs and /commands.
_AUTOLINK = re.compile(
    r"(?P<url>https?://[^\s<>\"']+[^\s<>\"'.,;:!?)])"
    r"|(?<!\S)(?P<command>/[A-Za-z][A-Za-z0-9_]{0,31})(?![\w/])"
)


@dataclass
class _Span:
    start: int
    end: int
    entity: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.entity.get("type", ""))


def _utf16_starts(text: str) -> list[int]:
    """UTF-16 offset at which each character starts, plus the total length."""
    starts = [0]
    for char in text:
        starts.append(starts[-1] + (2 if ord(char) > 0xFFFF else 1))
    return starts


def _link_open(url: str) -> str:
    if url.lower().startswith(SAFE_SCHEMES):
        href = html.escape(url, quote=True)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">'
    # javascript:, data: and friends stay visible but are not links.
    return '<a class="unsafe-link">'


def _open(span: _Span, text: str) -> str:
    if span.type == "text_link":
        return _link_open(str(span.entity.get("url", "")))
    if span.type == "url":
        return _link_open(text[span.start : span.end])
    if span.type == "email":
        return _link_open("mailto:" + text[span.start : span.end])
    return _TAGS[span.type][0]


def _close(span: _Span) -> str:
    return "</a>" if span.type in _LINK_TYPES else _TAGS[span.type][1]


def _plain(chunk: str, linkify: bool) -> str:
    if not linkify:
        return html.escape(chunk, quote=False)
    parts: list[str] = []
    position = 0
    for match in _AUTOLINK.finditer(chunk):
        parts.append(html.escape(chunk[position : match.start()], quote=False))
        found = html.escape(match.group(0), quote=False)
        if match.group("url"):
            parts.append(_link_open(match.group("url")) + found + "</a>")
        else:
            command = html.escape(match.group("command"), quote=True)
            parts.append(f'<a class="command" href="#" data-command="{command}">{found}</a>')
        position = match.end()
    parts.append(html.escape(chunk[position:], quote=False))
    return "".join(parts)


def _spans(text: str, entities: list[dict[str, Any]]) -> list[_Span]:
    starts = _utf16_starts(text)
    total = starts[-1]
    spans: list[_Span] = []
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        kind = entity.get("type")
        if kind not in _TAGS and kind not in _LINK_TYPES:
            continue
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            continue
        if offset < 0 or length <= 0 or offset + length > total:
            continue
        # An offset inside a surrogate pair moves to the next whole character.
        start = bisect_left(starts, offset)
        end = bisect_left(starts, offset + length)
        if end > start:
            spans.append(_Span(start, end, entity))
    spans.sort(key=lambda span: (span.start, -span.end))
    return spans


def entities_to_html(text: str, entities: list[dict[str, Any]] | None = None) -> str:
    """Telegram's rendering of ``text`` with ``entities``, as escaped, well-nested HTML.

    Overlapping entities that do not nest (possible in the Bot API) are closed and
    reopened around each other, so the output is always well-formed. Plain stretches
    get Telegram's automatic links: URLs and tappable ``/commands``.
    """
    spans = _spans(text, entities or [])
    points = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    opening: dict[int, list[_Span]] = {}
    for span in spans:
        opening.setdefault(span.start, []).append(span)
    out: list[str] = []
    stack: list[_Span] = []
    position = 0
    for point in points:
        if point > position:
            linkify = not any(s.type in _NO_LINKIFY for s in stack)
            out.append(_plain(text[position:point], linkify))
            position = point
        if any(s.end == point for s in stack):
            reopen: list[_Span] = []
            while any(s.end == point for s in stack):
                top = stack.pop()
                out.append(_close(top))
                if top.end != point:
                    reopen.append(top)
            for span in reversed(reopen):
                out.append(_open(span, text))
                stack.append(span)
        for span in opening.get(point, []):
            out.append(_open(span, text))
            stack.append(span)
    return "".join(out)


# --- chat view --------------------------------------------------------------------------


def file_url(file_id: str | None) -> str | None:
    return f"/_test/files/{file_id}" if file_id else None


def _inline_keyboard(message: ChatMessage) -> list[list[dict[str, str]]]:
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    keyboard: list[list[dict[str, str]]] = []
    for row in rows:
        buttons: list[dict[str, str]] = []
        for button in row:
            shown = {"text": str(button.get("text", ""))}
            if "callback_data" in button:
                shown["callback_data"] = str(button["callback_data"])
            elif button.get("url", "").lower().startswith(SAFE_SCHEMES):
                shown["url"] = str(button["url"])
            buttons.append(shown)
        keyboard.append(buttons)
    return keyboard


def _media(message: ChatMessage) -> dict[str, Any] | None:
    content = message.content
    if message.kind == "photo":
        return {"type": "photo", "url": file_url(message.file_id)}
    if message.kind == "voice":
        voice = content.get("voice", {})
        duration = voice.get("duration")
        return {"type": "voice", "url": file_url(message.file_id), "duration": duration}
    if message.kind == "document":
        document = content.get("document", {})
        name = document.get("file_name") or "document"
        return {"type": "document", "url": file_url(message.file_id), "file_name": name}
    if message.kind == "location":
        location = content.get("location", {})
        return {
            "type": "location",
            "latitude": location.get("latitude"),
            "longitude": location.get("longitude"),
        }
    if message.kind == "contact":
        contact = content.get("contact", {})
        return {
            "type": "contact",
            "phone_number": contact.get("phone_number"),
            "first_name": contact.get("first_name"),
        }
    if message.kind == "sticker":
        return {"type": "sticker", "emoji": content.get("sticker", {}).get("emoji", "")}
    return None


def message_view(message: ChatMessage) -> dict[str, Any]:
    """One bubble: safe HTML of its text or caption, its media and its inline buttons."""
    body = message.text if message.text is not None else message.caption
    return {
        "id": message.message_id,
        "from_bot": message.from_bot,
        "kind": message.kind,
        "html": entities_to_html(body, message.entities) if body else "",
        "date": message.date,
        "edited": message.edit_date is not None,
        "media": _media(message),
        "keyboard": _inline_keyboard(message),
    }


def reply_keyboard(chat: Chat) -> dict[str, Any] | None:
    """The custom keyboard the citizen sees under the input box now, if any.

    The last bot message that set or removed one decides; a one-time keyboard folds
    away once the citizen has sent something (the page can unfold it again, as
    Telegram's keyboard button does).
    """
    current, used = chat.reply_keyboard()
    if current is None:
        return None
    rows = [
        [
            {
                "text": str(button.get("text", "")) if isinstance(button, dict) else str(button),
                "request": _request_kind(button),
            }
            for button in row
        ]
        for row in current.get("keyboard", [])
    ]
    hidden = bool(current.get("one_time_keyboard")) and used
    return {"rows": rows, "hidden": hidden, "placeholder": current.get("input_field_placeholder")}


def _request_kind(button: Any) -> str | None:
    if not isinstance(button, dict):
        return None
    if button.get("request_location"):
        return "location"
    if button.get("request_contact"):
        return "contact"
    return None


def chat_view(
    chat: Chat | None, citizen: Citizen, commands: list[dict[str, Any]]
) -> dict[str, Any]:
    """Everything the page draws for one citizen's private chat with the bot."""
    messages = [] if chat is None else [m for m in chat.messages.values() if not m.deleted]
    return {
        "citizen": {
            "id": citizen.id,
            "first_name": citizen.first_name,
            "language_code": citizen.language_code,
            "blocked_bot": citizen.blocked_bot,
        },
        "messages": [message_view(m) for m in messages],
        "reply_keyboard": None if chat is None else reply_keyboard(chat),
        "commands": [
            {"command": str(c.get("command", "")), "description": str(c.get("description", ""))}
            for c in commands
        ],
    }
