"""`konsulta broadcast create|preview|send|status|cancel|list`.

The CLI only writes rows: the running bot (`konsulta run`) sends them, at the pace
Telegram allows. `send --follow` and `status --follow` show a progress bar with an
ETA until the broadcast is done. Creating, scheduling and cancelling are audited as
"broadcast" by "cli" (bot/commands/operator.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bot.commands.operator import record
from konsulta import broadcasts
from konsulta.bootstrap import App, running_app
from konsulta.broadcasts import BroadcastError
from konsulta.settings import Settings
from outreach.durations import DurationError, parse_duration
from storage.models import BroadcastStatus
from storage.segments import SegmentError

EXIT_USAGE = 2


def register(sub: Any) -> None:
    parser = sub.add_parser("broadcast", help="send a message to a segment of citizens")
    actions = parser.add_subparsers(dest="broadcast_command", required=True, metavar="ACTION")

    create_cmd = actions.add_parser("create", help="a draft broadcast, with its dry run")
    create_cmd.add_argument("--name", required=True, help="what staff call it")
    create_cmd.add_argument(
        "--segment",
        default='{"everyone": true}',
        help="who gets it, as JSON or @file.json (see docs/outreach.md)",
    )
    create_cmd.add_argument(
        "--text", action="append", default=[], metavar="LANG=TEXT", help="text in a language"
    )
    create_cmd.add_argument(
        "--text-file", action="append", default=[], metavar="LANG=FILE", help="text from a file"
    )
    create_cmd.add_argument("--default-language", help="for citizens whose language has no text")
    create_cmd.add_argument(
        "--organisation",
        metavar="SLUG",
        help="whose broadcast: it reaches only people who took part in this organisation's "
        "consultations (may be left out when the deployment has one organisation)",
    )
    create_cmd.set_defaults(handler=create)

    preview_cmd = actions.add_parser("preview", help="the dry run: count and texts")
    preview_cmd.add_argument("id", type=int)
    preview_cmd.set_defaults(handler=lambda args, settings: preview(settings, args.id))

    send_cmd = actions.add_parser("send", help="send now, at a time, or after a while")
    send_cmd.add_argument("id", type=int)
    when = send_cmd.add_mutually_exclusive_group()
    when.add_argument("--at", help="ISO time, e.g. 2026-12-01T10:00+01:00")
    when.add_argument("--in", dest="after", help="after a while, e.g. 2h")
    send_cmd.add_argument("--follow", action="store_true", help="show progress until done")
    send_cmd.set_defaults(handler=send)

    status_cmd = actions.add_parser("status", help="how far a broadcast is")
    status_cmd.add_argument("id", type=int)
    status_cmd.add_argument("--follow", action="store_true", help="a progress bar until done")
    status_cmd.set_defaults(handler=lambda args, settings: status(settings, args.id, args.follow))

    cancel_cmd = actions.add_parser("cancel", help="stop a broadcast (what is not sent yet)")
    cancel_cmd.add_argument("id", type=int)
    cancel_cmd.set_defaults(handler=lambda args, settings: cancel(settings, args.id))

    list_cmd = actions.add_parser("list", help="recent broadcasts")
    list_cmd.set_defaults(handler=lambda args, settings: list_recent(settings))


def parse_texts(pairs: list[str], files: list[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for pair in pairs:
        language, sep, text = pair.partition("=")
        if not sep or not language.strip():
            raise BroadcastError(f"write --text LANG=TEXT, not {pair!r}")
        texts[language.strip()] = text
    for pair in files:
        language, sep, name = pair.partition("=")
        if not sep:
            raise BroadcastError(f"write --text-file LANG=FILE, not {pair!r}")
        texts[language.strip()] = Path(name).read_text(encoding="utf-8")
    return texts


def parse_segment_argument(value: str) -> Any:
    raw = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise SegmentError(f"the segment is not JSON: {error}") from error


async def create(args: Any, settings: Settings) -> int:
    try:
        texts = parse_texts(args.text, args.text_file)
        segment = parse_segment_argument(args.segment)
        async with running_app(settings) as app:
            organisation_id = await broadcasts.organisation_named(app, args.organisation)
            broadcast = await broadcasts.create(
                app,
                name=args.name,
                organisation_id=organisation_id,
                segment=segment,
                texts=texts,
                default_language=args.default_language,
            )
            await record(
                app,
                "broadcast",
                f"broadcast:{broadcast.id}",
                consultation_id=broadcast.consultation_id,
                action="create",
                segment=broadcast.segment,
                languages=sorted(texts),
            )
            print(f"broadcast {broadcast.id} created (draft)")
            await _print_preview(app, broadcast.id)
    except (BroadcastError, SegmentError, OSError) as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    print(f"send it with: konsulta broadcast send {broadcast.id} [--at TIME] [--follow]")
    return 0


async def _print_preview(app: App, broadcast_id: int) -> None:
    shown = await broadcasts.preview(app, broadcast_id)
    print(f"recipients now: {shown.total}")
    for language, (count, text) in shown.languages.items():
        print(f"--- {language}: {count} recipient(s) ---")
        print(text)
    for fallback in shown.fallbacks:
        print(
            f"warning: {fallback.recipients} recipient(s) read {fallback.language}, "
            f"which has no text: they will get the {fallback.instead} text"
        )


async def preview(settings: Settings, broadcast_id: int) -> int:
    async with running_app(settings) as app:
        try:
            await _print_preview(app, broadcast_id)
        except (BroadcastError, SegmentError) as error:
            print(error, file=sys.stderr)
            return 1
    return 0


async def send(args: Any, settings: Settings) -> int:
    async with running_app(settings) as app:
        try:
            at: datetime | None = None
            if args.at:
                at = datetime.fromisoformat(args.at)
                if at.tzinfo is None:
                    raise BroadcastError("give --at with a UTC offset, e.g. 2026-12-01T10:00+01:00")
            elif args.after:
                at = app.clock.now() + parse_duration(args.after)
            broadcast = await broadcasts.schedule(app, args.id, at)
        except (BroadcastError, DurationError, ValueError) as error:
            print(error, file=sys.stderr)
            return EXIT_USAGE
        assert broadcast.send_at is not None
        await record(
            app,
            "broadcast",
            f"broadcast:{broadcast.id}",
            consultation_id=broadcast.consultation_id,
            action="schedule",
            at=broadcast.send_at.isoformat(),
        )
        print(
            f"broadcast {broadcast.id} scheduled for "
            f"{broadcast.send_at.isoformat(timespec='seconds')}; the running bot sends it"
        )
        if args.follow:
            return await _follow(app, broadcast.id)
    return 0


def _summary(shown: broadcasts.Progress) -> str:
    b = shown.broadcast
    counts = ", ".join(f"{status} {n}" for status, n in sorted(shown.counts.items())) or "none"
    written = (
        " (still counting)" if b.status == BroadcastStatus.RUNNING and not b.materialized else ""
    )
    return f"broadcast {b.id} '{b.name}': {b.status}; recipients {b.total}{written}: {counts}"


async def status(settings: Settings, broadcast_id: int, follow: bool) -> int:
    async with running_app(settings) as app:
        try:
            shown = await broadcasts.progress(app, broadcast_id)
        except BroadcastError as error:
            print(error, file=sys.stderr)
            return 1
        print(_summary(shown))
        if follow:
            return await _follow(app, broadcast_id)
    return 0


async def _follow(app: App, broadcast_id: int, every: float = 0.5) -> int:
    """A progress bar with an ETA until the broadcast is done or cancelled."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True)
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"broadcast {broadcast_id}", total=None)
        while True:
            shown = await broadcasts.progress(app, broadcast_id)
            b = shown.broadcast
            bar.update(task, total=b.total or None, completed=shown.done)
            if b.status in {BroadcastStatus.DONE, BroadcastStatus.CANCELLED}:
                break
            await asyncio.sleep(every)
    print(_summary(shown))
    return 0


async def cancel(settings: Settings, broadcast_id: int) -> int:
    async with running_app(settings) as app:
        try:
            cancelled = await broadcasts.cancel(app, broadcast_id)
        except BroadcastError as error:
            print(error, file=sys.stderr)
            return 1
        shown = await broadcasts.progress(app, broadcast_id)
        await record(
            app,
            "broadcast",
            f"broadcast:{broadcast_id}",
            consultation_id=shown.broadcast.consultation_id,
            action="cancel",
            cancelled=cancelled,
        )
        print(f"broadcast {broadcast_id} cancelled; {cancelled} recipient(s) will not get it")
        print(_summary(shown))
    return 0


async def list_recent(settings: Settings) -> int:
    async with running_app(settings) as app, app.uow() as uow:
        recent = await uow.broadcasts.recent()
    if not recent:
        print("no broadcasts yet")
    for b in recent:
        when = b.send_at.isoformat(timespec="minutes") if b.send_at else "-"
        print(f"{b.id:>5}  {b.kind:9} {b.status:9} {b.total:>8}  {when:22} {b.name}")
    return 0
