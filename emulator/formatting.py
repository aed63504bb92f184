"""Telegram's HTML parse mode: turns marked-up text into plain text plus entities.

A bot that sends broken markup gets ``can't parse entities`` from Telegram and the
citizen gets nothing, so the emulator must fail the same way instead of passing the
string through. The text limits (1-4096) also apply to the text *after* parsing,
which is why this returns the plain text as well.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from emulator.errors import BotApiError, bad_request

#: Tags Telegram understands, mapped to the entity type they produce.
_ENTITY_FOR_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(r"\s*([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_CHAR_REFERENCE = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


@dataclass
class _OpenTag:
    name: str
    entity: dict[str, Any] | None
    offset: int


def utf16_length(text: str) -> int:
    """Telegram measures offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _cant_parse(detail: str) -> BotApiError:
    return bad_request(f"can't parse entities: {detail}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _unescape(chunk: str) -> str:
    # Only the four named references and numeric ones are decoded, as in Telegram;
    # anything else (``&nbsp;``, a bare ``&``) stays literally in the text.
    return _CHAR_REFERENCE.sub(lambda match: html.unescape(match.group(0)), chunk)


def _parse_attributes(raw: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(raw):
        value = match.group(2) or match.group(3) or match.group(4) or ""
        attributes[match.group(1).lower()] = _unescape(value)
    return attributes


def _entity_for(name: str, attributes: dict[str, str], offset: int) -> dict[str, Any] | None:
    entity_type = _ENTITY_FOR_TAG[name]
    entity: dict[str, Any] = {"type": entity_type, "offset": offset, "length": 0}
    if name == "a":
        if "href" not in attributes:
            return None
        entity["url"] = attributes["href"]
    elif name == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id", "")
    return entity


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Return ``(plain_text, entities)`` or raise Telegram's ``can't parse entities``."""
    plain: list[str] = []
    offset = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    index = 0
    while index < len(source):
        start = source.find("<", index)
        chunk = source[index:] if start < 0 else source[index:start]
        if chunk:
            text = _unescape(chunk)
            plain.append(text)
            offset += utf16_length(text)
        if start < 0:
            break
        end = source.find(">", start)
        if end < 0:
            raise _cant_parse(f"Unclosed start tag at byte offset {_byte_offset(source, start)}")
        inside = source[start + 1 : end]
        if inside.startswith("/"):
            name = inside[1:].strip().lower()
            if not stack:
                raise _cant_parse(
                    f"Unexpected end tag at byte offset {_byte_offset(source, start)}"
                )
            opened = stack.pop()
            if name != opened.name:
                raise _cant_parse(
                    f"Unmatched end tag at byte offset {_byte_offset(source, start)}, "
                    f'expected "</{opened.name}>", found "</{name}>"'
                )
            if opened.entity is not None and offset > opened.offset:
                opened.entity["length"] = offset - opened.offset
                entities.append(opened.entity)
        else:
            match = _TAG_NAME.match(inside)
            name = match.group(0).lower() if match else ""
            attributes = _parse_attributes(inside[match.end() :] if match else "")
            unsupported = name not in _ENTITY_FOR_TAG or (
                name == "span" and attributes.get("class") != "tg-spoiler"
            )
            if unsupported:
                raise _cant_parse(
                    f'Unsupported start tag "{name or inside}" at byte offset '
                    f"{_byte_offset(source, start)}"
                )
            stack.append(_OpenTag(name, _entity_for(name, attributes, offset), offset))
        index = end + 1
    if stack:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(plain), entities
