"""The README stays a map and `docs/` stays a working set of pages.

The README is short and links to one page per subject; every relative link in it and in
`docs/` (and the emulator's README) leads to a file that exists; every setting Konsulta
reads is documented; and the two commands a newcomer copies are there verbatim.
"""

from __future__ import annotations

import re
from pathlib import Path

from konsulta.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: Pages another change is writing: linked already, allowed to be missing until it lands.
PAGES_TO_COME: set[Path] = set()

#: The set-up-and-run-the-playground command and the test command (`.ci/run` runs it).
COMMANDS = [
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev,postgres]' "
    "&& .venv/bin/konsulta run --emulator",
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev,postgres]' && .venv/bin/pytest",
]

MAX_README_LINES = 260

#: [text](target) in Markdown, outside code; the target up to a space or ")".
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def markdown_files() -> list[Path]:
    return [README, ROOT / "emulator" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def relative_links(page: Path) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    ]


def resolve(page: Path, target: str) -> Path:
    return (page.parent / target.split("#", 1)[0]).resolve()


def test_the_readme_is_a_map_not_a_manual() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES


def test_the_readmes_two_commands_are_there_verbatim() -> None:
    text = README.read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"\n{command}\n" in text, command


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {resolve(README, target) for target in relative_links(README)}
    pages = set((ROOT / "docs").glob("*.md")) | PAGES_TO_COME
    assert sorted(str(p.relative_to(ROOT)) for p in pages - linked) == []


def test_every_docs_page_the_readme_links_exists() -> None:
    missing = [
        target
        for target in relative_links(README)
        if target.startswith("docs/")
        and not resolve(README, target).exists()
        and resolve(README, target) not in PAGES_TO_COME
    ]
    assert missing == []


def test_every_relative_link_leads_to_a_file() -> None:
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in markdown_files()
        for target in relative_links(page)
        if not resolve(page, target).exists() and resolve(page, target) not in PAGES_TO_COME
    ]
    assert broken == []


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = CODE_SPAN.sub(lambda m: m.group(0).strip("`"), heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


def test_every_link_to_a_part_of_a_page_finds_its_heading() -> None:
    broken = []
    for page in markdown_files():
        text = CODE_SPAN.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
        for target in LINK.findall(text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or "#" not in target:
                continue
            path, anchor = target.split("#", 1)
            file = resolve(page, path) if path else page
            if file.suffix == ".md" and file.exists() and anchor not in anchors(file):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`KONSULTA_{name.upper()}`" not in text]
    assert missing == []


def test_the_link_checker_sees_a_broken_link(tmp_path: Path) -> None:
    """The checker itself works: a link to a missing file is found, one in code is not."""
    page = tmp_path / "page.md"
    page.write_text(
        "See [a](gone.md#part), [b](https://example.org), [c](#here), `[d](code.md)`.\n"
        "```\n[e](fenced.md)\n```\n"
    )
    assert relative_links(page) == ["gone.md#part"]
    assert not resolve(page, "gone.md#part").exists()
