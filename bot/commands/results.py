"""`konsulta results add|list`: tell participants what came of a consultation.

`results add` records the outcome and prepares its broadcast (a draft, with its dry
run); send it with `konsulta broadcast send ID`, follow it with `broadcast status`.
Audited as "results" by "cli" (bot/commands/operator.py).
"""

from __future__ import annotations

import sys
from typing import Any

from bot.commands.broadcast import _print_preview, parse_segment_argument, parse_texts
from bot.commands.operator import record
from konsulta import broadcasts
from konsulta.bootstrap import running_app
from konsulta.broadcasts import BroadcastError
from konsulta.settings import Settings
from outreach.results import add_outcome, list_outcomes
from storage.segments import SegmentError

EXIT_USAGE = 2


def register(sub: Any) -> None:
    parser = sub.add_parser("results", help='"you said, we did": outcomes of a consultation')
    actions = parser.add_subparsers(dest="results_command", required=True, metavar="ACTION")
    add_cmd = actions.add_parser("add", help="write an outcome and prepare its broadcast")
    add_cmd.add_argument("consultation", help="consultation id, e.g. service-need")
    add_cmd.add_argument("--text", action="append", default=[], metavar="LANG=TEXT")
    add_cmd.add_argument("--text-file", action="append", default=[], metavar="LANG=FILE")
    add_cmd.add_argument("--segment", help="only these participants (segment JSON or @file)")
    add_cmd.add_argument("--send", action="store_true", help="send it now")
    add_cmd.set_defaults(handler=add)
    list_cmd = actions.add_parser("list", help="outcomes written so far")
    list_cmd.add_argument("consultation", nargs="?")
    list_cmd.set_defaults(handler=lambda args, settings: list_all(settings, args.consultation))


async def add(args: Any, settings: Settings) -> int:
    try:
        texts = parse_texts(args.text, args.text_file)
        segment = parse_segment_argument(args.segment) if args.segment else None
        async with running_app(settings) as app:
            outcome, broadcast = await add_outcome(app, args.consultation, texts, segment=segment)
            await record(
                app,
                "results",
                args.consultation,
                consultation_id=outcome.consultation_id,
                outcome=outcome.id,
                broadcast=broadcast.id,
                languages=sorted(texts),
            )
            print(f"outcome {outcome.id} written; broadcast {broadcast.id} prepared")
            await _print_preview(app, broadcast.id)
            if args.send:
                await broadcasts.schedule(app, broadcast.id)
                await record(
                    app,
                    "broadcast",
                    f"broadcast:{broadcast.id}",
                    consultation_id=outcome.consultation_id,
                    action="schedule",
                )
                print(f"broadcast {broadcast.id} scheduled now; the running bot sends it")
            else:
                print(f"send it with: konsulta broadcast send {broadcast.id}")
    except (BroadcastError, SegmentError, OSError) as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    return 0


async def list_all(settings: Settings, consultation: str | None) -> int:
    async with running_app(settings) as app:
        try:
            views = await list_outcomes(app, consultation)
        except BroadcastError as error:
            print(error, file=sys.stderr)
            return 1
    if not views:
        print("no outcomes written yet")
    for view in views:
        b = view.broadcast
        state = f"broadcast {b.id} {b.status}, {b.total} recipient(s)" if b else "no broadcast"
        languages = ", ".join(sorted(view.outcome.texts))
        print(f"{view.outcome.id:>4}  {view.consultation:20} [{languages}]  {state}")
    return 0
