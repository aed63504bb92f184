"""Filling texts safely: `{{step_id}}` in flow texts, `{name}` in the bot's own texts.

Staff may echo an earlier answer ("You said {{area}}. Why?"). The placeholder is
replaced with the display text of that answer, or with nothing if the step was not
answered. This is a single regex pass, never `str.format`: flow texts and citizen
answers may contain `{0.__class__}`, `{{}}` or `{{other}}`, and an answer pasted in
is never scanned again, so citizen input can never act as a template.

The bot's own hints are translated msgids filled with `str.format` and named
parameters only (`fill`); a translation with a broken placeholder falls back to a
plain replacement instead of failing the citizen's turn.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_]{0,23})\s*\}\}")
_FIELD = re.compile(r"\{(\w+)\}")


def render(text: str, answers: Mapping[str, Any]) -> str:
    """`text` with every `{{step_id}}` replaced by that answer's display text."""

    def display(match: re.Match[str]) -> str:
        answer = answers.get(match.group(1))
        shown = answer.get("display") if isinstance(answer, Mapping) else None
        return shown if isinstance(shown, str) else ""

    return PLACEHOLDER.sub(display, text)


def placeholders(text: str) -> list[str]:
    """The step ids a text refers to, in order (for load-time checks)."""
    return PLACEHOLDER.findall(text)


def fill(template: str, **params: object) -> str:
    """A translated bot text with its named `{fields}` filled in.

    `template` is always a translated msgid, never flow or citizen text.
    """
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError, AttributeError):
        return _FIELD.sub(
            lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0), template
        )
