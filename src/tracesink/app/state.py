"""What a route handler is given: the pipeline, and the HTTP-side parts built once per app."""

from __future__ import annotations

from dataclasses import dataclass, field

from tracesink.app.deadlines import BodyDeadlines
from tracesink.app.ratelimit_headers import RateLimitHeaders
from tracesink.app.throttled_log import ThrottledLog
from tracesink.config import Settings
from tracesink.ingest.recent import RecentKeys
from tracesink.pipeline import IngestPipeline
from tracesink.sourcemaps.service import SourceMaps


@dataclass(frozen=True, slots=True)
class AppState:
    pipeline: IngestPipeline
    deadlines: BodyDeadlines
    ratelimit_headers: RateLimitHeaders
    sourcemaps: SourceMaps
    # Convex events stored lately, so that a repeated webhook delivery stores nothing twice.
    convex_events: RecentKeys = field(default_factory=RecentKeys)
    # The Convex request map failing (the store is away): said once a minute, not per delivery.
    convex_map_errors: ThrottledLog = field(
        default_factory=lambda: ThrottledLog("Convex request map unavailable", 60.0)
    )

    @classmethod
    def around(cls, pipeline: IngestPipeline) -> AppState:
        return cls(
            pipeline,
            BodyDeadlines(pipeline.settings.read_timeout_s),
            RateLimitHeaders(pipeline.policy),
            SourceMaps.of(pipeline),
        )

    @property
    def settings(self) -> Settings:
        return self.pipeline.settings
