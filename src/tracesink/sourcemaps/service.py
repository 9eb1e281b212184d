"""The source-map side of a running service: where maps are kept, and the resolver over them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracesink.accounting.budgeted_store import BudgetedStore
from tracesink.pipeline import IngestPipeline
from tracesink.sourcemaps.folder import FolderMaps
from tracesink.sourcemaps.record import MapLimits
from tracesink.sourcemaps.resolve import MapSource, Resolver
from tracesink.sourcemaps.storage import Command, CommandMaps, MapStorage, MemoryMaps
from tracesink.store.script_store import ScriptStore


@dataclass(frozen=True, slots=True)
class SourceMaps:
    storage: MapStorage
    resolver: Resolver
    limits: MapLimits

    @classmethod
    def of(cls, pipeline: IngestPipeline) -> SourceMaps:
        settings = pipeline.settings
        limits = MapLimits(
            settings.sourcemaps_max_bytes,
            settings.sourcemaps_releases,
            settings.sourcemaps_ttl_s * 1000,
        )
        backend, budgeted = pipeline.backend, pipeline.store
        storage: MapStorage
        if isinstance(backend, ScriptStore):

            async def run(commands: Sequence[Command]) -> list[object]:
                # Counted in the store's usage, and refused once the daily budget is spent.
                if isinstance(budgeted, BudgetedStore):
                    budgeted.check()
                return await backend.plain_commands(commands, "read or write source maps")

            storage = CommandMaps(run, settings.key_prefix, limits)
        else:
            storage = MemoryMaps(limits, pipeline.clock)
        sources: list[MapSource] = [storage]
        if settings.sourcemaps_dir:
            sources.append(FolderMaps(settings.sourcemaps_dir))
        return cls(storage, Resolver(sources), limits)
