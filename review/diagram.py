"""A consultation drawn as a diagram, for the staff member who wrote it.

A flow with branches is hard to follow as YAML: where does "no" lead, which end
message does an urgent report get, is that step reachable at all? The diagram shows
each step as a box (its id, kind and question in the default language), each `next`
rule as an arrow labelled with its condition in plain words, fall-through arrows to
the following step, end messages as terminals, follow-ups as dashed groups, and every
problem `flows check` finds in red on the box it concerns.

Used by `konsulta flows diagram` and by the dashboard's publishing page:

    svg = flow_svg_from_yaml(yaml_text, "service-need.yaml")   # str, inline <svg>

Layout is Graphviz's `dot` (the Debian `graphviz` package) through the `graphviz`
Python package: local, no internet. Every text is escaped into Graphviz HTML-like
labels, so nothing in a flow can break the drawing or the page that shows it.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import graphviz  # type: ignore[import-untyped]

from dialogs.loader import Problem, check_flow_file, check_flow_text
from dialogs.schema import END, Condition, EndMessage, Flow, Step, StepKind

FONT = "DejaVu Sans,Arial,Helvetica,sans-serif"
RED = "#c62828"
MUTED = "#4a5866"
#: Characters of a question shown in its box (cut with …) and per line.
QUESTION_CHARS = 110
LINE_CHARS = 38
LABEL_CHARS = 60

__all__ = [
    "DiagramError",
    "condition_text",
    "flow_graph",
    "flow_html",
    "flow_svg",
    "flow_svg_from_file",
    "flow_svg_from_yaml",
    "html_page",
]


class DiagramError(RuntimeError):
    """Graphviz's `dot` is missing or failed; the message says what to install."""


# --- conditions in words ------------------------------------------------------------------


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if text == "" or re.search(r"[\s,()=<>\"]", text):
        return '"' + text.replace('"', '\\"') + '"'
    return text


def _number(value: float | None) -> str:
    return _value(value)


def condition_text(condition: Condition) -> str:
    """A condition as staff read it: `age = 80_plus`, `rating < 3`, `all(a; b)`.

    Pure and total: every valid Condition gives one line of text naming every step
    it reads.
    """
    step = condition.step or ""
    if condition.equals is not None:
        return f"{step} = {_value(condition.equals)}"
    if condition.in_ is not None:
        return f"{step} in {{{', '.join(_value(v) for v in condition.in_)}}}"
    if condition.contains is not None:
        return f"{step} contains {_value(condition.contains)}"
    if condition.greater is not None:
        return f"{step} > {_number(condition.greater)}"
    if condition.less is not None:
        return f"{step} < {_number(condition.less)}"
    if condition.answered is not None:
        return f"{condition.answered} answered"
    if condition.skipped is not None:
        return f"{condition.skipped} skipped"
    if condition.all is not None:
        return f"all({'; '.join(condition_text(c) for c in condition.all)})"
    if condition.any is not None:
        return f"any({'; '.join(condition_text(c) for c in condition.any)})"
    if condition.not_ is not None:
        inner = condition.not_
        if inner.equals is not None:
            return f"{inner.step} ≠ {_value(inner.equals)}"
        return f"not({condition_text(inner)})"
    raise ValueError("a condition without an operator")  # the schema forbids it


# --- labels -------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _lines(text: str, width: int = LINE_CHARS) -> str:
    """Escaped text wrapped into <BR/>-separated lines for an HTML-like label."""
    wrapped = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
    return '<BR ALIGN="LEFT"/>'.join(html.escape(line) for line in wrapped) + '<BR ALIGN="LEFT"/>'


def _edge_label(text: str) -> str:
    return f"<{_lines(_cut(text, LABEL_CHARS * 2), LABEL_CHARS)}>"


def _problem_rows(problems: Sequence[str]) -> str:
    return "".join(
        f'<TR><TD ALIGN="LEFT"><FONT COLOR="{RED}">⚠ {_lines(_cut(p, 160))}</FONT></TD></TR>'
        for p in problems
    )


def _step_label(flow: Flow, step: Step, problems: Sequence[str]) -> str:
    kind = step.kind.value.replace("_", " ")
    question = flow.localize(step.text, flow.default_language)
    if not step.required:
        kind += ", optional"
    rows = [
        f'<TR><TD ALIGN="LEFT"><B>{html.escape(step.id)}</B>  '
        f'<FONT COLOR="{MUTED}" POINT-SIZE="10">{html.escape(kind)}</FONT></TD></TR>',
        f'<TR><TD ALIGN="LEFT">{_lines(_cut(question, QUESTION_CHARS))}</TD></TR>',
    ]
    if step.options:
        keys = ", ".join(option.key for option in step.options)
        rows.append(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{MUTED}" POINT-SIZE="10">'
            f"{_lines(_cut(keys, 90), 48)}</FONT></TD></TR>"
        )
    rows.append(_problem_rows(problems))
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2">{"".join(rows)}</TABLE>>'


def _end_label(flow: Flow, end: EndMessage, number: int, problems: Sequence[str]) -> str:
    name = end.id or f"end {number}"
    text = _cut(flow.localize(end.text, flow.default_language), QUESTION_CHARS)
    return (
        '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2">'
        f'<TR><TD ALIGN="LEFT"><B>{html.escape(name)}</B>  '
        f'<FONT COLOR="{MUTED}" POINT-SIZE="10">end message</FONT></TD></TR>'
        f'<TR><TD ALIGN="LEFT">{_lines(text)}</TD></TR>{_problem_rows(problems)}</TABLE>>'
    )


# --- the graph ----------------------------------------------------------------------------


@dataclass
class _Problems:
    """Problems sorted onto the boxes they concern; the rest go in a note at the top."""

    by_node: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def take(self, node: str) -> list[str]:
        return self.by_node.pop(node, [])


def _sort_problems(flow: Flow | None, problems: Sequence[Problem]) -> _Problems:
    sorted_problems = _Problems()
    nodes: dict[str, str] = {}
    ends: dict[str, str] = {}
    if flow is not None:
        nodes = {step.id: _step_node("", step.id) for step in flow.steps}
        for followup in flow.followups:
            for step in followup.steps:
                nodes[f"{followup.id}.{step.id}"] = _step_node(followup.id, step.id)
        for number, end in enumerate(flow.ends, 1):
            ends[end.id or str(number)] = f"end-{number}"
    for problem in problems:
        node = nodes.get(problem.step or "")
        match = re.match(r"end (\S+?)[:\s]", problem.message)
        if node is None and problem.step is None and match:
            node = ends.get(match.group(1))
        if node is None:
            where = f"{problem.step}: " if problem.step else ""
            sorted_problems.general.append(where + problem.message)
        else:
            sorted_problems.by_node.setdefault(node, []).append(problem.message)
    return sorted_problems


def _step_node(followup: str, step_id: str) -> str:
    return f"fu-{followup}-{step_id}" if followup else f"step-{step_id}"


def _add_steps(
    graph: graphviz.Digraph,
    flow: Flow,
    steps: Sequence[Step],
    followup: str,
    end_node: str,
    problems: _Problems,
) -> None:
    ids = {step.id for step in steps}
    for index, step in enumerate(steps):
        node = _step_node(followup, step.id)
        own = problems.take(node)
        question = step.kind is not StepKind.MESSAGE
        graph.node(
            node,
            label=_step_label(flow, step, own),
            shape="box",
            style="rounded,filled",
            fillcolor="#fdecea" if own else ("#eef4fa" if question else "#f4f4f4"),
            color=RED if own else ("#2f6ea8" if question else "#8a9aa8"),
            penwidth="2" if own else "1",
        )
        falls_through = True
        for rule in step.next:
            if not falls_through:
                break  # flows check reports the unused rule; it would never be followed
            if rule.goto == END:
                target = end_node
            elif rule.goto in ids:
                target = _step_node(followup, rule.goto)
            else:
                target = f"missing-{followup}-{rule.goto}"
                graph.node(
                    target,
                    label=f"<{html.escape(rule.goto)}<BR/>(no such step)>",
                    shape="box",
                    style="dashed",
                    color=RED,
                    fontcolor=RED,
                )
            label = _edge_label(condition_text(rule.when)) if rule.when else ""
            graph.edge(node, target, label=label, color="#2f6ea8")
            falls_through = rule.when is not None
        if falls_through:
            following = (
                _step_node(followup, steps[index + 1].id) if index + 1 < len(steps) else end_node
            )
            if step.next:
                graph.edge(node, following, label="<otherwise>", style="dashed", color=MUTED)
            else:
                graph.edge(node, following, color=MUTED)


def flow_graph(flow: Flow | None, problems: Sequence[Problem] = ()) -> graphviz.Digraph:
    """The diagram of `flow` with `problems` marked in red (no flow: just the problems)."""
    graph = graphviz.Digraph(name=flow.id if flow else "flow")
    graph.attr(rankdir="TB", nodesep="0.35", ranksep="0.45", fontname=FONT, bgcolor="white")
    graph.attr("node", fontname=FONT, fontsize="12", margin="0.12,0.06")
    graph.attr("edge", fontname=FONT, fontsize="10", fontcolor="#1d3a57", arrowsize="0.7")
    sorted_problems = _sort_problems(flow, problems)
    if flow is not None:
        title = flow.localize(flow.title, flow.default_language)
        # Graphviz refuses an empty <B></B>: a flow being built may have no title yet.
        bold = f"<B>{html.escape(title)}</B>  " if title.strip() else ""
        graph.attr(
            label=f"<{bold}({html.escape(flow.id)} v{flow.version})>",
            labelloc="t",
            fontsize="16",
        )
        graph.node(
            "start", label="start", shape="circle", style="filled", fillcolor="#2f6ea8",
            fontcolor="white", width="0.6", fixedsize="true",
        )  # fmt: skip
        graph.edge("start", _step_node("", flow.steps[0].id))
        graph.node(
            "end", label="end", shape="doublecircle", style="filled", fillcolor="#2e7d32",
            fontcolor="white", width="0.5", fixedsize="true",
        )  # fmt: skip
        _add_steps(graph, flow, flow.steps, "", "end", sorted_problems)
        for number, end in enumerate(flow.ends, 1):
            node = f"end-{number}"
            own = sorted_problems.take(node)
            graph.node(
                node,
                label=_end_label(flow, end, number, own),
                shape="box",
                style="rounded,filled,bold",
                fillcolor="#fdecea" if own else "#e8f5e9",
                color=RED if own else "#2e7d32",
            )
            label = _edge_label(condition_text(end.when)) if end.when else "<otherwise>"
            graph.edge("end", node, label=label, color="#2e7d32")
        for followup in flow.followups:
            _add_followup(graph, flow, followup.id, sorted_problems)
    if sorted_problems.general or sorted_problems.by_node:
        leftover = sorted_problems.general + [
            message for messages in sorted_problems.by_node.values() for message in messages
        ]
        graph.node(
            "problems",
            label=(
                f'<<TABLE BORDER="0" CELLBORDER="0"><TR><TD ALIGN="LEFT"><B>'
                f'<FONT COLOR="{RED}">Problems ({len(leftover)})</FONT></B></TD></TR>'
                f"{_problem_rows(leftover)}</TABLE>>"
            ),
            shape="note",
            color=RED,
            style="filled",
            fillcolor="#fdecea",
        )
    return graph


def _add_followup(
    graph: graphviz.Digraph, flow: Flow, followup_id: str, problems: _Problems
) -> None:
    followup = next(f for f in flow.followups if f.id == followup_id)
    days = f"{followup.after_days} day{'s' if followup.after_days != 1 else ''}"
    when = f", if {condition_text(followup.when)}" if followup.when else ""
    done = f"fu-end-{followup.id}"
    with graph.subgraph(name=f"cluster_followup_{followup.id}") as cluster:
        own = problems.take(f"follow-up {followup.id}")
        cluster.attr(
            label=(
                f"<follow-up <B>{html.escape(followup.id)}</B>: "
                f"{html.escape(days)} after the end{html.escape(when)}>"
            ),
            style="dashed,rounded",
            color=RED if own else MUTED,
            fontsize="12",
        )
        if not followup.steps:
            return
        _add_steps(cluster, flow, followup.steps, followup.id, done, problems)
        cluster.node(
            done, label="end", shape="doublecircle", style="filled", fillcolor="#2e7d32",
            fontcolor="white", width="0.45", fixedsize="true",
        )  # fmt: skip
    graph.edge(
        "end",
        _step_node(followup.id, followup.steps[0].id),
        label=_edge_label(f"after {days}{when}"),
        style="dashed",
        color="#8e6bbf",
    )


# --- output -------------------------------------------------------------------------------


def flow_svg(flow: Flow | None, problems: Sequence[Problem] = ()) -> str:
    """The diagram as an SVG document (UTF-8 text)."""
    try:
        svg: str = flow_graph(flow, problems).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise DiagramError(
            "Graphviz is not installed: install it (Debian/Ubuntu: apt-get install graphviz)"
        ) from None
    except graphviz.CalledProcessError as error:
        raise DiagramError(f"Graphviz failed: {error.stderr!r}") from None
    return svg


def inline_svg(svg: str) -> str:
    """The <svg> element alone (no XML prolog or doctype), to put inside an HTML page."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def flow_svg_from_yaml(yaml_text: str, source_name: str) -> str:
    """The dashboard's entry point: SVG of a flow's YAML, problems in red, never raises
    on a broken flow (only if Graphviz itself is missing: DiagramError)."""
    flow, problems = check_flow_text(yaml_text, source_name)
    return flow_svg(flow, problems)


def flow_svg_from_file(path: str | Path) -> tuple[str, list[Problem]]:
    """SVG of a flow file (with its translations) and the problems drawn on it."""
    flow, problems = check_flow_file(path)
    return flow_svg(flow, problems), problems


def html_page(svg: str, title: str, problems: Sequence[Problem] = ()) -> str:
    """A standalone page around the SVG: opens offline in any browser, no scripts."""
    items = "".join(f"<li>{html.escape(str(problem))}</li>" for problem in problems)
    listing = (
        f'<section class="problems"><h2>{len(problems)} problem(s) from flows check</h2>'
        f"<ul>{items}</ul></section>"
        if problems
        else '<p class="ok">flows check: no problems.</p>'
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, "DejaVu Sans", sans-serif; margin: 1.5rem; color: #111a22; }}
h1 {{ font-size: 1.4rem; }}
.legend {{ color: #4a5866; max-width: 60rem; }}
.problems {{ border: 2px solid {RED}; border-radius: 8px; padding: .5rem 1rem; max-width: 60rem; }}
.problems h2 {{ color: {RED}; font-size: 1.1rem; }}
.ok {{ color: #2e7d32; font-weight: 600; }}
.diagram {{ overflow: auto; border: 1px solid #cfd8e0; border-radius: 8px; padding: .5rem; }}
.diagram svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="legend">Boxes are steps (id, kind, question in the default language). Solid arrows
are <code>next</code> rules labelled with their condition; dashed grey arrows marked
"otherwise" fall through to the next step; green boxes are end messages; dashed groups are
follow-ups. Problems are red.</p>
{listing}
<div class="diagram">
{inline_svg(svg)}
</div>
</body>
</html>
"""


def flow_html(flow: Flow | None, problems: Sequence[Problem] = (), title: str = "") -> str:
    """The diagram as a standalone HTML page."""
    name = title or (f"{flow.id} v{flow.version}" if flow else "flow")
    return html_page(flow_svg(flow, problems), f"Flow diagram: {name}", problems)
