"""`konsulta flows check|publish|list|open|close|import|export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bot.commands.diagram import register_diagram
from dialogs.loader import FlowError, Problem, check_dir, check_flow_file
from dialogs.schema import Flow
from dialogs.xlsform import ExportError, read_xlsform, write_xlsform
from konsulta.bootstrap import running_app
from konsulta.catalogs import flow_coverage
from konsulta.publishing import publish as publish_flow
from konsulta.publishing import read_flow
from konsulta.settings import Settings
from storage.repositories import VersionConflict

EXIT_PROBLEMS = 2


def register(sub: Any) -> None:
    flows = sub.add_parser("flows", help="check, publish and list consultations")
    actions = flows.add_subparsers(dest="flows_command", required=True, metavar="ACTION")
    check_cmd = actions.add_parser("check", help="report every problem in flow files")
    check_cmd.add_argument("paths", nargs="+", type=Path, help="flow files or folders")
    check_cmd.set_defaults(handler=lambda args, settings: _async(check(args.paths)))
    publish_cmd = actions.add_parser("publish", help="publish flow files as new versions")
    publish_cmd.add_argument("paths", nargs="+", type=Path, help="flow files or folders")
    publish_cmd.add_argument("--draft", action="store_true", help="publish without opening")
    publish_cmd.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="publish languages with missing translations (those texts in the default language)",
    )
    publish_cmd.set_defaults(
        handler=lambda args, settings: publish(
            settings, args.paths, open_now=not args.draft, allow_incomplete=args.allow_incomplete
        )
    )
    register_diagram(actions)
    import_cmd = actions.add_parser(
        "import", help="turn a spreadsheet form (XLSForm: KoBoToolbox, ODK) into a flow file"
    )
    import_cmd.add_argument("form", type=Path, help="the form, an .xlsx workbook")
    import_cmd.add_argument("--out", type=Path, required=True, help="the flow file to write")
    import_cmd.set_defaults(handler=lambda args, settings: _async(import_form(args.form, args.out)))
    export_cmd = actions.add_parser(
        "export", help="write a published consultation (or a flow file) as a spreadsheet form"
    )
    export_cmd.add_argument("consultation", help="a published consultation id, or a flow file")
    export_cmd.add_argument("--format", choices=("xlsform",), default="xlsform")
    export_cmd.add_argument("--out", type=Path, required=True, help="the .xlsx file to write")
    export_cmd.set_defaults(
        handler=lambda args, settings: export_form(settings, args.consultation, args.out)
    )
    list_cmd = actions.add_parser("list", help="list published consultations")
    list_cmd.set_defaults(handler=lambda args, settings: list_all(settings))
    for action, text in (("open", "open a consultation"), ("close", "close a consultation")):
        cmd = actions.add_parser(action, help=text)
        cmd.add_argument("consultation")
        cmd.set_defaults(
            handler=lambda args, settings: set_status(
                settings, args.consultation, args.flows_command
            )
        )


async def _async(code: int) -> int:
    return code


def _flow_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"}))
        else:
            files.append(path)
    return files


def check(paths: list[Path]) -> int:
    """Print every problem as `file:step: problem`; exit 2 if there is any."""
    problems: list[Problem] = []
    count = 0
    for path in paths:
        if path.is_dir():
            problems.extend(check_dir(path))
            count += len(_flow_files([path]))
        else:
            problems.extend(check_flow_file(path)[1])
            count += 1
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {count} flow file(s)", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"{count} flow file(s) checked, no problems")
    return 0


def incomplete_languages(path: Path) -> list[str]:
    """Why publishing `path` is refused for translations: one line per language below
    100%, then its untranslated (missing or fuzzy) texts."""
    try:
        _flow, coverages = flow_coverage(path)
    except ValueError:
        return []  # read_flow reports what is broken
    lines = []
    for coverage in coverages:
        if coverage.complete:
            continue
        lines.append(
            f"{path.name}: '{coverage.language}' is {coverage.percent:.0f}% translated "
            f"({coverage.translated} of {coverage.total}; "
            f"{len(coverage.fuzzy)} fuzzy, {len(coverage.missing)} missing):"
        )
        for message in [*coverage.missing, *coverage.fuzzy]:
            state = "fuzzy" if message in coverage.fuzzy else "missing"
            lines.append(f"  {state}: {message.where}: {' '.join(message.msgid.split())[:70]}")
    return lines


async def publish(
    settings: Settings, paths: list[Path], *, open_now: bool, allow_incomplete: bool = False
) -> int:
    flows = []
    failed = False
    for path in _flow_files(paths):
        if not allow_incomplete and (gaps := incomplete_languages(path)):
            failed = True
            print("\n".join(gaps), file=sys.stderr)
            print(
                f"{path.name}: translate the texts above (konsulta i18n status), or publish "
                "with --allow-incomplete to show them in the default language",
                file=sys.stderr,
            )
            continue
        try:
            flows.append(read_flow(path, allow_incomplete=allow_incomplete))
        except FlowError as error:
            failed = True
            for problem in error.problems:
                print(problem, file=sys.stderr)
    if failed:
        print("nothing published: fix the problems above first", file=sys.stderr)
        return EXIT_PROBLEMS
    async with running_app(settings) as app:
        for flow, yaml_text in flows:
            try:
                async with app.uow() as uow:
                    done = await publish_flow(uow, flow, yaml_text, open_now=open_now)
                    await uow.commit()
            except VersionConflict as error:
                print(f"{flow.id}: {error}", file=sys.stderr)
                return EXIT_PROBLEMS
            print(f"published {done.slug} version {done.version} ({done.status})")
    return 0


async def list_all(settings: Settings) -> int:
    async with running_app(settings) as app, app.uow() as uow:
        consultations = await uow.consultations.list_all()
        if not consultations:
            print("no consultations published yet: konsulta flows publish dialogs/flows")
        for consultation in consultations:
            print(
                f"{consultation.slug:24} v{consultation.current_version or '-':<3} "
                f"{consultation.status:7} {consultation.title}"
            )
    return 0


async def set_status(settings: Settings, slug: str, action: str) -> int:
    status = "open" if action == "open" else "closed"
    async with running_app(settings) as app, app.uow() as uow:
        consultation = await uow.consultations.get_by_slug(slug)
        if consultation is None:
            print(f"no consultation '{slug}'", file=sys.stderr)
            return 1
        await uow.consultations.set_status(consultation, status)
        await uow.commit()
    print(f"{slug} is {status}")
    return 0


def import_form(form: Path, out: Path) -> int:
    """Write the form's flow YAML to `out`, or print one line per problem (naming the
    sheet and row) and exit 2, writing nothing."""
    try:
        data = form.read_bytes()
    except OSError as error:
        print(f"{form}: cannot read the file: {error.strerror}", file=sys.stderr)
        return EXIT_PROBLEMS
    imported = read_xlsform(data, form.name)
    if imported.problems or imported.yaml_text is None:
        for problem in imported.problems:
            print(f"{form.name}: {problem}", file=sys.stderr)
        print(f"{len(imported.problems)} problem(s); nothing written", file=sys.stderr)
        return EXIT_PROBLEMS
    out.write_text(imported.yaml_text, encoding="utf-8")
    print(f"wrote {out}: check it with konsulta flows check {out}")
    return 0


async def export_form(settings: Settings, target: str, out: Path) -> int:
    """The current version of a published consultation (or a flow file) as XLSForm."""
    path = Path(target)
    flow: Flow | None = None
    if path.suffix in {".yaml", ".yml"} or path.exists():
        try:
            flow = read_flow(path, allow_incomplete=True)[0]
        except FlowError as error:
            for problem in error.problems:
                print(problem, file=sys.stderr)
            return EXIT_PROBLEMS
    else:
        async with running_app(settings) as app, app.uow(read_only=True) as uow:
            consultation = await uow.consultations.get_by_slug(target)
            current = await app.flows.current(uow, consultation) if consultation else None
            if current is None:
                print(f"no published consultation '{target}'", file=sys.stderr)
                return 1
            flow = current[1]
    try:
        data, left_out = write_xlsform(flow)
    except ExportError as error:
        for line in error.problems:
            print(f"{flow.id}:{line}", file=sys.stderr)
        return EXIT_PROBLEMS
    out.write_bytes(data)
    for note in left_out:
        print(f"{flow.id}: left out: {note}", file=sys.stderr)
    print(f"wrote {out}")
    return 0
