"""`konsulta flows diagram FLOW.yaml --out flow.svg|flow.html`: see a consultation.

Registered under `konsulta flows` (see `bot/commands/flows.py`); the drawing itself is
`review/diagram.py`, which the dashboard's publishing page uses too. A flow with
problems is still drawn, the problems in red, so the staff member sees where they are.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from review.diagram import DiagramError, flow_svg_from_file, html_page

FORMATS = {".svg", ".html", ".htm"}
EXIT_USAGE = 2


def register_diagram(actions: Any) -> None:
    """Add `diagram` to the `flows` subcommands."""
    diagram = actions.add_parser(
        "diagram", help="draw a flow as a diagram (SVG or a standalone HTML page)"
    )
    diagram.add_argument("path", type=Path, help="the flow file")
    diagram.add_argument(
        "--out", type=Path, help="flow.svg or flow.html (default: the flow's name with .svg)"
    )
    diagram.set_defaults(handler=lambda args, settings: draw(args.path, args.out))


async def draw(path: Path, out: Path | None) -> int:
    out = out or Path(path.stem + ".svg")
    if out.suffix.lower() not in FORMATS:
        print(f"--out must end in .svg or .html, not {out.name!r}", file=sys.stderr)
        return EXIT_USAGE
    if not path.is_file():
        print(f"no flow file {path}", file=sys.stderr)
        return EXIT_USAGE
    try:
        svg, problems = flow_svg_from_file(path)
    except DiagramError as error:
        print(error, file=sys.stderr)
        return 1
    if out.suffix.lower() == ".svg":
        out.write_text(svg, encoding="utf-8")
    else:
        out.write_text(html_page(svg, f"Flow diagram: {path.name}", problems), encoding="utf-8")
    for problem in problems:
        print(problem, file=sys.stderr)
    marked = f", {len(problems)} problem(s) marked in red" if problems else ""
    print(f"wrote {out}{marked}")
    return 0
