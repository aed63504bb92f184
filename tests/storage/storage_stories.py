"""Types and texts the storage stories share (imported by conftest and the tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from storage.models import Citizen, Consultation, FlowVersion

FLOW_YAML = """\
id: housing
version: 1
title: {pl: Mieszkania dla seniorów}
steps:
  - id: q1
    ask: {pl: Gdzie mieszkasz?}
  - id: q2
    ask: {pl: Czego potrzebujesz?}
"""


@dataclass
class Published:
    consultation: Consultation
    version: FlowVersion


NewCitizen = Callable[[int], Awaitable[Citizen]]
