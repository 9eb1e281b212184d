"""What a route handler is given: the pipeline, and the HTTP-side parts built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from tracesink.app.deadlines import BodyDeadlines
from tracesink.app.ratelimit_headers import RateLimitHeaders
from tracesink.config import Settings
from tracesink.pipeline import IngestPipeline


@dataclass(frozen=True, slots=True)
class AppState:
    pipeline: IngestPipeline
    deadlines: BodyDeadlines
    ratelimit_headers: RateLimitHeaders

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
