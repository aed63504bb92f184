"""Published flow versions, parsed once and kept in memory.

A run pins the flow version it started on, so a citizen half-way through version 1
finishes version 1 even after version 2 is published. Parsing YAML on every update
would be wasteful; a version never changes once published, so caching by its row id
is always correct (a cache, not state: losing it loses nothing).
"""

from __future__ import annotations

from dialogs.loader import load_flow_text
from dialogs.schema import Flow
from storage.models import Consultation, FlowVersion
from storage.uow import UnitOfWork


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

    async def current(self, uow: UnitOfWork, consultation: Consultation) -> tuple[int, Flow] | None:
        """The consultation's current version: its row id and the parsed flow. The
        version's YAML and translations (tens of kilobytes with a dozen languages) are
        read only the first time this process meets it; None: nothing published."""
        version_id = await uow.consultations.version_id(consultation)
        if version_id is None:
            return None
        flow = self.cached(version_id)
        if flow is None:
            version = await uow.consultations.get_version_by_id(version_id)
            assert version is not None
            flow = self.flow(version)
        return version_id, flow
