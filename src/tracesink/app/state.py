"""What a route handler is given: the pipeline, and the HTTP-side parts built once per app."""

from __future__ import annotations

from dataclasses import dataclass, field

from tracesink.app.deadlines import BodyDeadlines
from tracesink.app.ratelimit_headers import RateLimitHeaders
from tracesink.config import Settings
from tracesink.ingest.recent import RecentKeys
from tracesink.pipeline import IngestPipeline


@dataclass(frozen=True, slots=True)
class AppState:
    pipeline: IngestPipeline
    deadlines: BodyDeadlines
    ratelimit_headers: RateLimitHeaders
    # Convex events stored lately, so that a repeated webhook delivery stores nothing twice.
    convex_events: RecentKeys = field(default_factory=RecentKeys)

    @classmethod
    def around(cls, pipeline: IngestPipeline) -> AppState:
        return cls(
            pipeline,
            BodyDeadlines(pipeline.settings.read_timeout_s),
            RateLimitHeaders(pipeline.policy),
        )

    @property
    def settings(self) -> Settings:
        return self.pipeline.settings
