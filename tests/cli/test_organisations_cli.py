"""An operator lists the organisations and switches the youth council's bot texts to
the informal register from the command line; a mistyped slug changes nothing."""

from __future__ import annotations

from tests.cli.test_simulate_and_export import FLOWS, konsulta


def test_an_operator_switches_the_youth_council_to_the_informal_register(
    migrated_url: str,
) -> None:
    for flow in ("youth-ideas.yaml", "senior-housing.yaml"):
        published = konsulta(migrated_url, "flows", "publish", str(FLOWS / flow))
        assert published.returncode == 0, published.stderr.decode()
    listed = konsulta(migrated_url, "organisations", "list").stdout.decode().splitlines()
    youth = next(line.split()[0] for line in listed if "Młodzieżowa" in line)
    assert all(line.split()[1] == "formal" for line in listed), listed

    done = konsulta(migrated_url, "organisations", "register", youth, "informal")
    assert done.returncode == 0, done.stderr.decode()
    listed = konsulta(migrated_url, "organisations", "list").stdout.decode().splitlines()
    registers = {line.split()[0]: line.split()[1] for line in listed}
    assert registers[youth] == "informal"
    assert sorted(registers.values()) == ["formal", "informal"]

    typo = konsulta(migrated_url, "organisations", "register", "no-such-org", "informal")
    assert typo.returncode == 1 and b"no organisation" in typo.stderr
    odd = konsulta(migrated_url, "organisations", "register", youth, "casual")
    assert odd.returncode == 2  # argparse: not one of the two registers
