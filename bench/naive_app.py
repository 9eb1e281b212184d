"""The naive baseline tracesink is measured against: what a first implementation would look like.

One request → validate with pydantic (FastAPI) → ``LPUSH logs:{trace_id}`` + ``EXPIRE`` on
redis-py's asyncio client, awaiting each command → answer. Limits are kept in this process only
(a dict of fixed-window counters), so they are neither shared between instances nor atomic with
the write. ``POST /logs`` takes a JSON array and stores each trace's admitted entries with one
``LPUSH`` + ``EXPIRE``.

It is honest, not deliberately slowed down: it runs under uvicorn with the same options as
``tracesink serve`` (uvloop, httptools, no access log, no server header) and uses hiredis when
installed. Run it with ``python bench/naive_app.py --port 8788 --redis redis://127.0.0.1:6380/0``.

``--gc-tuned`` gives it the garbage-collector settings ``tracesink serve`` applies at start-up
(``src/tracesink/cli.py``: collect, freeze the start-up objects, gen-0 threshold 50,000), so the
two can be compared with and without that tuning: the same knob on both sides.
"""

from __future__ import annotations

import argparse
import gc
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

GC_THRESHOLDS = (50_000, 50, 100)  # as src/tracesink/cli.py sets them


class LogEntry(BaseModel):
    """One entry as a client sends it: the fields of tracesink's wire contract."""

    trace_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    message: str = Field(max_length=16 * 1024)
    level: Literal["log", "info", "warn", "error"] = "log"
    system: Literal["browser", "worker", "convex", "manual"] = "manual"
    context: dict[str, Any] | None = None
    user_id: str | int | None = None
    stack: str | None = None
    timestamp: float | str | None = None


class StoredEntry(BaseModel):
    id: str
    trace_id: str
    user_id: str | None = None
    system: str
    level: str
    message: str
    stack: str | None = None
    timestamp: str
    received_at: str
    context: dict[str, Any] | None = None


@dataclass
class Limits:
    """Fixed-window counters per level, in this process only."""

    global_limit: int
    trace_limit: int
    system_shares: dict[str, int]
    window_s: int
    window: int = -1
    counts: dict[str, int] = field(default_factory=dict)

    def admit(self, trace_id: str, system: str) -> str | None:
        """None when the entry is admitted (and counted), else the level that refused it."""
        window = int(time.time()) // self.window_s
        if window != self.window:
            self.window, self.counts = window, {}
        levels = [("global", "global", self.global_limit)]
        share = self.system_shares.get(system)
        if share is not None:
            levels.append(("system", "system:" + system, self.global_limit * share // 100))
        levels.append(("trace", "trace:" + trace_id, self.trace_limit))
        for name, key, limit in levels:
            if self.counts.get(key, 0) + 1 > limit:
                return name
        for _, key, _ in levels:
            self.counts[key] = self.counts.get(key, 0) + 1
        return None

    def remaining(self, trace_id: str) -> int:
        return self.trace_limit - self.counts.get("trace:" + trace_id, 0)


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stored_json(entry: LogEntry, received_at: str) -> str:
    return StoredEntry(
        id=uuid.uuid4().hex,
        trace_id=entry.trace_id,
        user_id=None if entry.user_id is None else str(entry.user_id),
        system=entry.system,
        level=entry.level,
        message=entry.message,
        stack=entry.stack,
        timestamp=received_at if entry.timestamp is None else str(entry.timestamp),
        received_at=received_at,
        context=entry.context,
    ).model_dump_json(exclude_none=True)


def create_app(redis_url: str, limits: Limits, ttl_s: int) -> FastAPI:
    clients: dict[str, aioredis.Redis] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        clients["redis"] = aioredis.Redis.from_url(redis_url)
        yield
        await clients["redis"].aclose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/log")
    async def post_log(entry: LogEntry) -> JSONResponse:
        limited_by = limits.admit(entry.trace_id, entry.system)
        if limited_by is not None:
            return JSONResponse(
                {
                    "success": False,
                    "trace_id": entry.trace_id,
                    "error": f"{limited_by} quota exceeded",
                    "remaining_quota": 0,
                    "limited_by": limited_by,
                },
                status_code=429,
            )
        redis, key = clients["redis"], "logs:" + entry.trace_id
        await redis.lpush(key, stored_json(entry, iso_now()))
        await redis.expire(key, ttl_s)
        return JSONResponse(
            {
                "success": True,
                "trace_id": entry.trace_id,
                "remaining_quota": limits.remaining(entry.trace_id),
            }
        )

    @app.post("/logs")
    async def post_logs(entries: list[LogEntry]) -> JSONResponse:
        if len(entries) > 1000:
            return JSONResponse({"success": False, "error": "too many entries"}, 413)
        received_at = iso_now()
        by_trace: dict[str, list[str]] = {}
        rejected: list[dict[str, Any]] = []
        for index, entry in enumerate(entries):
            limited_by = limits.admit(entry.trace_id, entry.system)
            if limited_by is None:
                by_trace.setdefault(entry.trace_id, []).append(stored_json(entry, received_at))
            else:
                rejected.append({"index": index, "limited_by": limited_by, "retryable": True})
        redis = clients["redis"]
        for trace_id, payloads in by_trace.items():
            await redis.lpush("logs:" + trace_id, *payloads)
            await redis.expire("logs:" + trace_id, ttl_s)
        accepted = len(entries) - len(rejected)
        status = 200 if accepted or not rejected else 429
        return JSONResponse(
            {"success": not rejected, "accepted": accepted, "rejected": rejected}, status
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        await clients["redis"].ping()
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    parser.add_argument("--global-limit", type=int, default=1000)
    parser.add_argument("--trace-limit", type=int, default=100)
    parser.add_argument("--window-s", type=int, default=3600)
    parser.add_argument("--ttl-s", type=int, default=3600)
    parser.add_argument(
        "--gc-tuned", action="store_true", help="the gc settings of `tracesink serve`"
    )
    args = parser.parse_args()
    limits = Limits(
        global_limit=args.global_limit,
        trace_limit=args.trace_limit,
        system_shares={"browser": 40, "worker": 30, "convex": 30},
        window_s=args.window_s,
    )
    app = create_app(args.redis, limits, args.ttl_s)
    if args.gc_tuned:  # exactly what tracesink's _serve does before uvicorn.run
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    main()
