"""The one place that decides whether a Bot API call is well-formed.

The emulator is only useful if a bot that passes against it also passes against
Telegram, so every call is checked against the machine-readable Bot API
(``api.json``): the method must exist, required fields must be present, fields the
method does not have are refused, values are coerced the way Telegram coerces form
fields, and the limits the documentation states in prose (text length, caption
length, callback data size, one action per inline button, HTML markup) are enforced.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from emulator.errors import bad_request, not_found
from emulator.formatting import parse_html, utf16_length

SPEC_ENV_VAR = "KONSULTA_BOTAPI_SPEC"
BUNDLED_SPEC = Path(__file__).with_name("api.json")
#: ``<repo>/../shared/telegram-bot-api/api.json``: the shared source the bundled copy follows.
SHARED_SPEC = Path(__file__).resolve().parents[2] / "shared" / "telegram-bot-api" / "api.json"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
#: Inline button fields that decorate a button rather than say what it does.
_BUTTON_DECORATIONS = frozenset({"text", "icon_custom_emoji_id", "style"})
_INTEGER = re.compile(r"-?\d+")
_MISSING_FIELD_WORDING = {
    "text": "message text is empty",
    "chat_id": "chat_id is empty",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "voice": "there is no voice in the request",
    "callback_query_id": "query_id is empty",
    "message_id": "message identifier is not specified",
}


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request, before the emulator stores it."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool


class _Mismatch(Exception):
    """The value does not fit one candidate type; another candidate may still fit."""


def default_spec_path() -> Path:
    """Explicit env override first, then the copy shipped in the package, then shared/."""
    override = os.environ.get(SPEC_ENV_VAR)
    if override:
        return Path(override)
    if BUNDLED_SPEC.exists():
        return BUNDLED_SPEC
    return SHARED_SPEC


class BotApiSpec:
    """Bot API methods and types, loaded from ``api.json``."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.version = str(document.get("version", ""))
        self._methods: dict[str, dict[str, FieldSpec]] = {}
        self._method_names: dict[str, str] = {}
        for name, method in document["methods"].items():
            self._method_names[name.lower()] = name
            self._methods[name] = _fields(method)
        self._types: dict[str, Mapping[str, Any]] = dict(document["types"])
        self._type_fields = {name: _fields(spec) for name, spec in self._types.items()}

    @classmethod
    def load(cls, path: Path | None = None) -> BotApiSpec:
        with (path or default_spec_path()).open(encoding="utf-8") as handle:
            return cls(json.load(handle))

    @property
    def method_names(self) -> frozenset[str]:
        return frozenset(self._methods)

    def canonical_method(self, name: str) -> str:
        """Telegram matches method names case-insensitively."""
        canonical = self._method_names.get(name.lower())
        if canonical is None:
            raise not_found()
        return canonical

    def fields_of(self, method: str) -> dict[str, FieldSpec]:
        return self._methods[self.canonical_method(method)]

    def parse_call(
        self,
        method: str,
        raw: Mapping[str, Any],
        uploads: Mapping[str, Upload] | None = None,
    ) -> dict[str, Any]:
        """Validate and coerce the parameters of one call, as Telegram would."""
        uploads = uploads or {}
        fields = self.fields_of(method)
        for name in raw:
            if name not in fields:
                raise bad_request(f'unknown parameter "{name}"')
        params: dict[str, Any] = {}
        for name, field in fields.items():
            value = raw.get(name)
            if value is None and name in uploads:
                value = uploads[name]
            if value is None or value == "":
                if field.required:
                    raise bad_request(
                        _MISSING_FIELD_WORDING.get(name, f'parameter "{name}" is required')
                    )
                continue
            params[name] = self._coerce(value, field.types, name, uploads)
        return params

    def _coerce(
        self, value: Any, types: tuple[str, ...], path: str, uploads: Mapping[str, Upload]
    ) -> Any:
        object_types = [name for name in types if name in self._types and name != "InputFile"]
        if len(object_types) > 1:
            value = _decode_json(value, path)
            chosen = self._pick_by_required_fields(value, object_types)
            if chosen is None:
                raise bad_request(f'can\'t parse "{path}": object of an unexpected shape')
            types = (chosen,)
        for type_name in types:
            try:
                return self._coerce_one(value, type_name, path, uploads)
            except _Mismatch:
                continue
        raise bad_request(f'field "{path}" must be of type {" or ".join(types)}')

    def _pick_by_required_fields(self, value: Any, candidates: list[str]) -> str | None:
        if not isinstance(value, dict):
            return None
        for name in candidates:
            required = [f.name for f in self._type_fields[name].values() if f.required]
            if all(field in value for field in required):
                return name
        return None

    def _coerce_one(
        self, value: Any, type_name: str, path: str, uploads: Mapping[str, Upload]
    ) -> Any:
        if type_name.startswith("Array of "):
            items = _decode_json(value, path)
            if not isinstance(items, list):
                raise _Mismatch
            element = (type_name.removeprefix("Array of "),)
            return [
                self._coerce(item, element, f"{path}[{i}]", uploads) for i, item in enumerate(items)
            ]
        if type_name == "InputFile":
            return _coerce_input_file(value, uploads)
        scalar = _SCALARS.get(type_name)
        if scalar is not None:
            return scalar(value)
        return self._coerce_object(_decode_json(value, path), type_name, path, uploads)

    def _coerce_object(
        self, value: Any, type_name: str, path: str, uploads: Mapping[str, Upload]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Mismatch
        subtypes = self._types[type_name].get("subtypes")
        if subtypes:
            type_name = self._pick_subtype(value, type_name, list(subtypes), path)
        result = dict(value)
        # Nested objects are checked for what they must have, not for extra keys:
        # Telegram itself ignores unknown keys inside objects.
        for name, field in self._type_fields[type_name].items():
            if value.get(name) is None:
                if field.required:
                    raise bad_request(f'field "{path}.{name}" is required')
                continue
            result[name] = self._coerce(value[name], field.types, f"{path}.{name}", uploads)
        return result

    def _pick_subtype(
        self, value: dict[str, Any], parent: str, subtypes: list[str], path: str
    ) -> str:
        # Scopes and similar unions are tagged by ``type``: BotCommandScopeAllPrivateChats
        # is ``{"type": "all_private_chats"}``.
        tag = value.get("type")
        for subtype in subtypes:
            suffix = subtype.removeprefix(parent)
            if tag == re.sub(r"(?<!^)(?=[A-Z])", "_", suffix).lower():
                return subtype
        raise bad_request(f'field "{path}" has an unsupported type "{tag}"')


def _fields(spec: Mapping[str, Any]) -> dict[str, FieldSpec]:
    return {
        field["name"]: FieldSpec(field["name"], tuple(field["types"]), bool(field["required"]))
        for field in spec.get("fields", [])
    }


def _decode_json(value: Any, path: str) -> Any:
    """Form fields carry objects and arrays JSON-encoded; JSON bodies carry them as-is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f'can\'t parse "{path}" JSON object') from None
    return value


def _coerce_input_file(value: Any, uploads: Mapping[str, Upload]) -> Upload:
    if isinstance(value, Upload):
        return value
    if isinstance(value, str) and value.startswith("attach://"):
        upload = uploads.get(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request(f"file {value} not found in the request")
        return upload
    raise _Mismatch


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    raise _Mismatch


def _float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise _Mismatch from None
    raise _Mismatch


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise _Mismatch


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Mismatch


_SCALARS = {"Integer": _integer, "Float": _float, "Boolean": _boolean, "String": _string}


# --- limits the documentation states in prose -------------------------------------


def parse_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Apply ``parse_mode`` and return the text a citizen would see, with entities."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode in ("", "markdown", "markdownv2"):
        # Markdown is passed through unparsed: Konsulta formats with HTML only.
        return text, list(entities or [])
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")


def check_message_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    plain, parsed = parse_text(text, parse_mode, entities)
    if not plain.strip():
        raise bad_request("message text is empty")
    if utf16_length(plain) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return plain, parsed


def check_caption(
    caption: str | None, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str | None, list[dict[str, Any]]]:
    if caption is None:
        return None, []
    plain, parsed = parse_text(caption, parse_mode, entities)
    if utf16_length(plain) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return plain, parsed


#: Fields of a reply keyboard's button that make it send something else than its text.
_KEYBOARD_REQUESTS = frozenset(
    {"request_users", "request_chat", "request_contact", "request_location", "request_poll"}
)


def check_reply_markup(markup: Mapping[str, Any] | None) -> None:
    """Inline buttons: exactly one action each, callback data of 1-64 bytes. Reply
    keyboard buttons: at most one request (contact, location, ...) each."""
    if markup and "keyboard" in markup:
        _check_keyboard(cast(list[list[Any]], markup["keyboard"]))
    if not markup or "inline_keyboard" not in markup:
        return
    rows = cast(list[list[dict[str, Any]]], markup["inline_keyboard"])
    for row in rows:
        for button in row:
            actions = [key for key in button if key not in _BUTTON_DECORATIONS]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    f"exactly one action field is allowed, found {', '.join(sorted(actions))}"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= (
                MAX_CALLBACK_DATA_BYTES
            ):
                raise bad_request("BUTTON_DATA_INVALID")


def _check_keyboard(rows: list[list[Any]]) -> None:
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                continue  # a plain string is a text button
            requests = [key for key in _KEYBOARD_REQUESTS if button.get(key)]
            if len(requests) > 1 or (requests and button.get("web_app")):
                raise bad_request(
                    "can't parse keyboard button: at most one request field is allowed, "
                    f"found {', '.join(sorted(requests))}"
                )
