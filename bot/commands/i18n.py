"""`konsulta i18n extract|status`: the translator's workflow from one command.

`extract` refreshes every catalog after a developer adds texts to the code or a staff
member edits a flow: the bot's template and its twelve catalogs, and each flow's
template and catalogs (changed texts become fuzzy, never lost). `status` shows, per
consultation and language, how many texts are translated, fuzzy or missing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from konsulta.catalogs import (
    ROOT,
    flow_coverage,
    refresh_bot_catalogs,
    refresh_flow_catalogs,
)
from konsulta.settings import Settings

DEFAULT_FLOWS = ROOT / "dialogs" / "flows"


def register(sub: Any) -> None:
    i18n = sub.add_parser("i18n", help="extract texts for translators, show coverage")
    actions = i18n.add_subparsers(dest="i18n_command", required=True, metavar="ACTION")
    extract = actions.add_parser(
        "extract", help="refresh the bot's and the flows' catalogs (extract + update)"
    )
    extract.add_argument(
        "flows", nargs="*", type=Path, help="flow files or folders (default: the bundled ones)"
    )
    extract.add_argument(
        "--add-language",
        action="append",
        default=[],
        metavar="LANG",
        help="start a new catalog for this language (repeatable)",
    )
    extract.add_argument("--flows-only", action="store_true", help="leave the bot's catalogs")
    extract.set_defaults(handler=_extract)
    status = actions.add_parser("status", help="translated / fuzzy / missing per language")
    status.add_argument(
        "consultation",
        nargs="?",
        help="a flow id or file (default: every flow in the flows folder)",
    )
    status.add_argument("--flows-dir", type=Path, help="where flows live (default: settings)")
    status.add_argument("--missing", action="store_true", help="also list the missing texts")
    status.set_defaults(handler=_status)


def flow_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"}))
        else:
            files.append(path)
    return files


async def _extract(args: Any, settings: Settings) -> int:
    return extract(args.flows or [DEFAULT_FLOWS], args.add_language, bot=not args.flows_only)


def extract(paths: list[Path], new_languages: list[str], *, bot: bool = True) -> int:
    changed: list[Path] = []
    if bot:
        changed += refresh_bot_catalogs(new_languages=new_languages)
    for flow_path in flow_files(paths):
        try:
            changed += refresh_flow_catalogs(flow_path, new_languages)
        except ValueError as error:
            print(f"{flow_path}: not extracted, fix it first:\n{error}", file=sys.stderr)
            return 2
    for path in changed:
        print(f"updated {_show(path)}")
    print(f"{len(changed)} catalog file(s) changed")
    return 0


async def _status(args: Any, settings: Settings) -> int:
    folder = args.flows_dir or Path(settings.flows_dir)
    return status(folder, args.consultation, show_missing=args.missing)


def status(folder: Path, consultation: str | None, *, show_missing: bool = False) -> int:
    if consultation is None:
        files = flow_files([folder])
    elif Path(consultation).is_file():
        files = [Path(consultation)]
    else:
        files = [p for p in flow_files([folder]) if p.stem == consultation]
        if not files:
            print(f"no flow '{consultation}' in {folder}", file=sys.stderr)
            return 1
    header = f"{'consultation':24} {'lang':4} {'translated':>10} {'fuzzy':>5} {'missing':>7}"
    print(f"{header}  coverage")
    unreadable = False
    for path in files:
        try:
            flow, coverages = flow_coverage(path)
        except ValueError as error:
            print(f"{path.name}: cannot be read: {error}", file=sys.stderr)
            unreadable = True
            continue
        for c in coverages:
            mark = "" if c.complete else "  <- incomplete"
            print(
                f"{flow.id:24} {c.language:4} {c.translated:>5}/{c.total:<4} "
                f"{len(c.fuzzy):>5} {len(c.missing):>7}  {c.percent:5.1f}%{mark}"
            )
            if show_missing:
                for message in [*c.fuzzy, *c.missing]:
                    state = "fuzzy" if message in c.fuzzy else "missing"
                    print(f"    {state}: {message.where}: {_short(message.msgid)}")
    return 1 if unreadable else 0


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _show(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
