"""Published flow versions, parsed once and kept in memory.

A run pins the flow version it started on, so a citizen half-way through version 1
finishes version 1 even after version 2 is published. Parsing YAML on every update
would be wasteful; a version never changes once published, so caching by its row id
is always correct (a cache, not state: losing it loses nothing).
"""

from __future__ import annotations

from dialogs.loader import load_flow_text
from dialogs.schema import Flow
from storage.models import FlowVersion


class FlowLibrary:
    def __init__(self) -> None:
        self._by_version_id: dict[int, Flow] = {}

    def cached(self, version_id: int) -> Flow | None:
        """The parsed version if this process has seen it (no query needed)."""
        return self._by_version_id.get(version_id)

    def flow(self, version: FlowVersion) -> Flow:
        flow = self._by_version_id.get(version.id)
        if flow is None:
            flow = load_flow_text(
                version.yaml_text, f"published version {version.id}", version.translations
            )
            self._by_version_id[version.id] = flow
        return flow
