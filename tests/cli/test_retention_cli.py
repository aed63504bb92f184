"""An operator looks at what retention will delete and runs today's purge from cron:
the second run that day does nothing."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_simulate_and_export import FLOWS, konsulta


def test_an_operator_sees_the_deletion_day_and_purges_once_a_day(
    migrated_url: str, tmp_path: Path
) -> None:
    published = konsulta(migrated_url, "flows", "publish", str(FLOWS / "service-need.yaml"))
    assert published.returncode == 0, published.stderr.decode()

    status = konsulta(migrated_url, "retention", "status")
    assert status.returncode == 0, status.stderr.decode()
    # service-need closes on 2027-12-31 and keeps answers the default 12 months.
    assert "service-need" in status.stdout.decode()
    assert "2027-12-31  2028-12-31" in status.stdout.decode()

    first = konsulta(migrated_url, "retention", "purge")
    assert first.returncode == 0, first.stderr.decode()
    assert "nothing due" in first.stdout.decode()
    again = konsulta(migrated_url, "retention", "purge")
    assert again.returncode == 0, again.stderr.decode()
    assert "already run" in again.stdout.decode()
