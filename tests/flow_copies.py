"""A bundled flow offered in fewer languages, for stories about a citizen whose
language a consultation does not have (every bundled template is in all twelve)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

FLOWS = Path(__file__).resolve().parents[1] / "dialogs" / "flows"


def bundled_flow_in(name: str, languages: list[str], folder: Path) -> Path:
    """A copy of dialogs/flows/<name>.yaml listing only `languages` (the first is the
    default), with those languages' catalogs next to it; the path of the copy."""
    source = FLOWS / f"{name}.yaml"
    text = source.read_text(encoding="utf-8")
    text, listed = re.subn(
        r"^languages: .*$", f"languages: [{', '.join(languages)}]", text, flags=re.M
    )
    assert listed == 1, f"{source.name} has no one-line `languages:`"
    target = folder / source.name
    target.write_text(text, encoding="utf-8")
    catalogs = folder / f"{name}.locales"
    catalogs.mkdir(exist_ok=True)
    for language in languages[1:]:
        shutil.copy(FLOWS / f"{name}.locales" / f"{language}.po", catalogs)
    return target
