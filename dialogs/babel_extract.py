"""Consultation texts as gettext messages: the Babel extractor for flow YAML files.

A municipality translates a consultation with the tools translators already use
(Poedit, Weblate, any CAT tool), so a flow's texts become an ordinary `.po` catalog:
the msgid is the text in the flow's default language, and an extracted comment says
where it is shown (`step what: option pavement`), because "Other" as a button and
"Other" as a title may need different words. Registered as the Babel extraction
method `konsulta_flow` (pyproject entry point `babel.extractors`), so

    pybabel extract -F babel-flows.cfg -o service-need.pot dialogs/flows/service-need.yaml

works with the stock `pybabel`; `konsulta i18n extract` uses the same function.

Pure: reads the file object it is given, nothing else.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import yaml

from dialogs.loader import FlowError, check_flow_text
from dialogs.schema import Flow, Text

__all__ = ["FlowMessage", "extract_flow", "flow_messages", "source_text"]


@dataclass(frozen=True)
class FlowMessage:
    """One translatable text of a flow: its source, where it is, the YAML line."""

    msgid: str
    where: str
    lineno: int


def source_text(flow: Flow, text: Text) -> str | None:
    """The text in the flow's default language: the msgid of its translations."""
    return text if isinstance(text, str) else text.get(flow.default_language)


def describe(label: str) -> str:
    """ "what: option pavement" -> "step what: option pavement"; "title" stays."""
    return f"step {label}" if ": " in label else label


def flow_messages(flow: Flow, yaml_text: str = "") -> list[FlowMessage]:
    """Every citizen-visible text of `flow`, in file order, with its YAML line if known."""
    lines = _scalar_lines(yaml_text)
    cursor = 0
    found: list[FlowMessage] = []
    for label, text in flow.flow_texts():
        msgid = source_text(flow, text)
        if not msgid:
            continue
        lineno, cursor = _line_of(msgid, lines, cursor)
        found.append(FlowMessage(msgid, describe(label), lineno))
    return found


def extract_flow(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extraction method: (line, funcname, message, comments) per flow text.

    A broken flow raises `FlowError` naming every problem, as `konsulta flows check`
    would: extracting a catalog from half a flow would lose the translators' work.
    """
    raw = fileobj.read()
    yaml_text = raw.decode("utf-8-sig")
    name = str(getattr(fileobj, "name", "flow.yaml"))
    flow, problems = check_flow_text(yaml_text, name)
    if flow is None:
        raise FlowError(problems)
    for message in flow_messages(flow, yaml_text):
        yield message.lineno, None, message.msgid, [message.where]


def _scalar_lines(yaml_text: str) -> list[tuple[str, int]]:
    """Every scalar of the document with its 1-based line, in document order."""
    if not yaml_text:
        return []
    try:
        root = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    found: list[tuple[str, int]] = []
    todo: list[yaml.Node] = [root] if root is not None else []
    while todo:
        node = todo.pop()
        if isinstance(node, yaml.ScalarNode):
            found.append((str(node.value), node.start_mark.line + 1))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(reversed(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key, value in reversed(node.value):
                todo.extend((value, key))
    return found


def _line_of(text: str, scalars: list[tuple[str, int]], cursor: int) -> tuple[int, int]:
    """The line of the next scalar equal to `text` from `cursor` (texts come in file
    order); from the top if a text is repeated before; 0 when it is not found."""
    for start in (cursor, 0):
        for index in range(start, len(scalars)):
            value, line = scalars[index]
            if value.strip() == text.strip():
                return line, index + 1
    return 0, cursor
