"""Deep links that open a consultation with one answer already chosen.

A poster at a service point names the service: `t.me/<bot>?start=<slug>__<step>__<key>`
opens the consultation `<slug>` and answers its single-choice question `<step>` with
the option `<key>` (see `dialogs.engine.start`'s `preset`). Telegram allows only
A-Z a-z 0-9 _ - in a start payload, at most 64 characters.

The separator is "__": a consultation's slug is its flow id, which has no "_" at all,
so the first "__" always ends the slug. A step id may contain "__" and an option key
may start with "_", so the rest is split at the "__" that names a real single-choice
question and one of its options; nothing else presets anything.

The whole payload is kept as the run's source ("link:<payload>") when the consent
question is asked, so the preset survives a restart and the language question before
consent without another column; it is read back once consent is given.
"""

from __future__ import annotations

import re

from dialogs.engine import valid_preset
from dialogs.schema import Flow

#: Between the slug, the step id and the option key in a start payload.
SEPARATOR = "__"
#: Telegram's limit on a start payload.
MAX_PAYLOAD = 64
#: The characters Telegram allows in a start payload.
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: The prefix of a run's source when a deep link opened it (see bot/ adapters).
LINK_SOURCE = "link:"


def slug_of(payload: str) -> str:
    """The consultation a start payload names: all of it, or the part before "__"."""
    return payload.partition(SEPARATOR)[0]


def preset_payload(slug: str, step_id: str, key: str) -> str | None:
    """The start payload that opens `slug` with `key` chosen for `step_id`; None when
    Telegram would refuse it (longer than 64 characters, or a "." in the key)."""
    payload = SEPARATOR.join((slug, step_id, key))
    return payload if PAYLOAD.fullmatch(payload) else None


def preset_of(source: str | None, flow: Flow) -> dict[str, str]:
    """The answer the deep link behind a run's `source` presets in `flow` ({} when
    the link presets nothing this flow has: an invite link, a slug alone, a typo)."""
    if not source or not source.startswith(LINK_SOURCE):
        return {}
    slug, separator, rest = source.removeprefix(LINK_SOURCE).partition(SEPARATOR)
    if not separator or slug != flow.id:
        return {}
    for found in re.finditer(f"(?={SEPARATOR})", rest):
        step_id, key = rest[: found.start()], rest[found.start() + len(SEPARATOR) :]
        preset = valid_preset(flow, {step_id: key})
        if preset:
            return preset
    return {}
