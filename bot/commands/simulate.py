"""`konsulta simulate FLOW.yaml|CONSULTATION [--lang pl]`: a consultation in the terminal.

The terminal is one more adapter of the same `Conversations` service the Telegram bot
uses, so what a staff member sees here is what a citizen gets, and every answer is
stored in the configured database. Buttons are numbered; typing the number taps it.
It reads plain lines from standard input, so scripts and tests can pipe answers in.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialogs.events import (
    ButtonPress,
    CommandInput,
    ContactInput,
    Event,
    LocationInput,
    MediaInput,
    Message,
    TextInput,
)
from dialogs.loader import FlowError
from konsulta.bootstrap import App, running_app
from konsulta.conversations import Conversations, Outcome, Who
from konsulta.publishing import publish, read_flow
from konsulta.settings import Settings
from storage.repositories import VersionConflict

CHANNEL = "terminal"
HELP = (
    "Type the number of a button to tap it, or type your answer.\n"
    "Commands: /back /skip /restart /quit, /location LAT LON, /photo, /voice [SECONDS],\n"
    "/contact PHONE, /sticker"
)


@dataclass(frozen=True)
class Quit:
    """The player typed /quit (or the input ended)."""


def parse_line(line: str, question: Message | None) -> Event | Quit:
    """What a typed line means: a button tap, a command, a shared item or plain text.

    Never raises: whatever cannot be read as something else is text, and the engine
    answers text it cannot use with a kind hint.
    """
    text = line.strip()
    words = text.split()
    command = words[0].lower() if words and text.startswith("/") else ""
    if command == "/quit":
        return Quit()
    if command in {"/back", "/skip", "/restart"}:
        return CommandInput(command[1:])  # type: ignore[arg-type]
    if command == "/location" and len(words) == 3:
        try:
            return LocationInput(
                float(words[1].replace(",", ".")), float(words[2].replace(",", "."))
            )
        except ValueError:
            return TextInput(text)
    if command in {"/photo", "/voice", "/sticker"}:
        kind = command[1:]
        duration = (
            int(words[1]) if kind == "voice" and len(words) > 1 and words[1].isdecimal() else None
        )
        digest = hashlib.sha1(text.encode()).hexdigest()[:10]
        return MediaInput(kind, f"terminal-{kind}-{digest}", duration)  # type: ignore[arg-type]
    if command == "/contact" and len(words) >= 2:
        return ContactInput("".join(words[1:]))
    if question is not None and question.buttons and text.isdecimal():
        number = int(text)
        if 1 <= number <= len(question.buttons) and question.step_id is not None:
            return ButtonPress(question.step_id, question.buttons[number - 1].key)
    return TextInput(text)


def render(message: Message) -> str:
    """A message as the terminal shows it: progress, text, numbered buttons."""
    lines: list[str] = []
    head = f"({message.progress[0]}/{message.progress[1]}) " if message.progress else ""
    lines.append(head + message.text)
    for number, button in enumerate(message.buttons, start=1):
        mark = "[x] " if button.selected else ""
        lines.append(f"  {number}) {mark}{button.label}")
    return "\n".join(lines)


class Simulator:
    def __init__(self, app: App, who: Who) -> None:
        self.conversations = Conversations(app)
        self.who = who
        self.question: Message | None = None

    def show(self, outcome: Outcome) -> None:
        for message in outcome.messages:
            print(render(message))
            print()
            if message.role == "question" or (message.edit and message.buttons):
                self.question = message
            if message.role == "end":
                self.question = None

    async def play(self, consultation: str, language: str | None) -> int:
        if language is not None:
            await self.conversations.set_language(self.who, language, delivery=None)
        outcome = await self.conversations.open(
            self.who, consultation, source="simulator", delivery=None
        )
        self.show(outcome)
        interactive = sys.stdin.isatty()
        while outcome.messages and not outcome.completed and self.question is not None:
            if interactive:
                print("> ", end="", flush=True)
            line = sys.stdin.readline()
            if not line:
                print("(input ended: the dialog is saved and continues next time)")
                return 0
            event = parse_line(line, self.question)
            if isinstance(event, Quit):
                print("(paused: the dialog is saved and continues next time)")
                return 0
            outcome = await self.conversations.handle(self.who, event, delivery=None)
            self.show(outcome)
        return 0


def _who(user: str) -> Who:
    """A stable fake identity per player name, so a second session resumes the first."""
    user_id = int(hashlib.sha256(user.encode()).hexdigest()[:12], 16)
    return Who(CHANNEL, user_id, user_id, name=user)


def register(sub: Any) -> None:
    parser = sub.add_parser("simulate", help="play a consultation in the terminal")
    parser.add_argument("flow", help="a flow YAML file, or a published consultation id")
    parser.add_argument("--lang", help="language to play in (default: the flow's)")
    parser.add_argument("--user", default="terminal", help="who is playing (a name)")
    parser.set_defaults(
        handler=lambda args, settings: run(settings, args.flow, args.lang, args.user)
    )


async def run(settings: Settings, target: str, language: str | None, user: str) -> int:
    path = Path(target)
    is_file = path.suffix in {".yaml", ".yml"} or path.exists()
    try:
        flow_and_text = read_flow(path) if is_file else None
    except FlowError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    async with running_app(settings) as app:
        slug = target
        if flow_and_text is not None:
            flow, yaml_text = flow_and_text
            slug = flow.id
            try:
                async with app.uow() as uow:
                    await publish(uow, flow, yaml_text, open_now=True)
                    await uow.commit()
            except VersionConflict as error:
                print(f"{path.name}: {error}", file=sys.stderr)
                return 2
            if language is not None and language not in flow.languages:
                print(
                    f"{flow.id} speaks {', '.join(flow.languages)}, not {language}", file=sys.stderr
                )
                return 2
        if sys.stdin.isatty():
            print(HELP + "\n")
        return await Simulator(app, _who(user)).play(slug, language)
