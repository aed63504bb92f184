"""A consultation id belongs to one organisation for good.

Another organisation that publishes a flow with the same id (by mistake, or to take
over the consultation and its participants) is refused by `konsulta flows publish`,
and the consultation stays as it was.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli.test_simulate_and_export import FLOWS, konsulta


def test_another_organisation_cannot_publish_over_a_consultation(
    migrated_url: str, tmp_path: Path
) -> None:
    original = FLOWS / "youth-ideas.yaml"
    assert konsulta(migrated_url, "flows", "publish", str(original)).returncode == 0
    text = original.read_text(encoding="utf-8")
    shutil.copytree(FLOWS / "youth-ideas.locales", tmp_path / "youth-ideas.locales")
    taken = tmp_path / "youth-ideas.yaml"
    taken.write_text(
        text.replace("organisation:", "organisation: Someone Else #", 1).replace(
            "version:", "version: 9 #", 1
        ),
        encoding="utf-8",
    )

    refused = konsulta(migrated_url, "flows", "publish", str(taken))
    assert refused.returncode == 2, refused.stdout.decode()
    assert "belongs to another organisation" in refused.stderr.decode()
    listed = konsulta(migrated_url, "flows", "list").stdout.decode()
    assert "v9" not in listed
