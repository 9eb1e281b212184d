"""The serving stacks' own ceilings on this machine: why tracesink is plain ASGI + msgspec.

Each app answers workload (a)'s ``POST /log`` (one ~213-byte JSON entry, bench/wrk/log_single.lua)
with a small JSON body and stores nothing, so the figures are what the framework alone costs
per request: a bare ASGI app, a Starlette route, a Starlette route validating with msgspec, a
FastAPI route validating with pydantic, and the null server (raw asyncio on uvloop, no HTTP
library: the load generator's ceiling). All run under uvicorn with tracesink's options (uvloop,
httptools, no access log, no server header), pinned to core 0, with wrk on core 1, in turns.

    .venv/bin/python bench/frameworks.py [--runs 3] [--duration 8] [--save frameworks]

Raw runs go to bench/results/frameworks.json (and with ``--save NAME`` to
bench/results-committed/NAME.json); bench/report.py renders them into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import ExitStack
from typing import Any

import msgspec

import provenance
import run

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

ANSWER = b'{"success":true}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"16")]
SERVERS = {
    "asgi": "bare ASGI app (reads the body, answers JSON)",
    "starlette": "Starlette route",
    "starlette-msgspec": "Starlette route + msgspec validation",
    "fastapi-pydantic": "FastAPI route + pydantic v2 validation",
    "null": "null server (asyncio protocol, no HTTP library; wrk ceiling)",
}


class Entry(msgspec.Struct):
    """The fields workload (a) sends, validated as a typed struct."""

    trace_id: str
    message: str
    level: str = "log"
    system: str | None = None
    context: dict[str, Any] | None = None


async def bare_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return  # lifespan: nothing to start
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


def starlette_app(validate: bool) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    decoder = msgspec.json.Decoder(Entry)

    async def log(request: Request) -> Response:
        body = await request.body()
        if validate:
            decoder.decode(body)
        return Response(ANSWER, media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(ANSWER, media_type="application/json")

    routes = [Route("/log", log, methods=["POST"]), Route("/health", health)]
    return Starlette(routes=routes)


def fastapi_app() -> Any:
    from fastapi import FastAPI
    from pydantic import BaseModel

    class LogEntry(BaseModel):
        trace_id: str
        message: str
        level: str = "log"
        system: str | None = None
        context: dict[str, Any] | None = None

    app = FastAPI()

    @app.post("/log")
    async def log(entry: LogEntry) -> dict[str, bool]:
        return {"success": True}

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"success": True}

    return app


def serve(name: str, port: int) -> None:
    import uvicorn

    apps: dict[str, Callable[[], Any]] = {
        "asgi": lambda: bare_asgi,
        "starlette": lambda: starlette_app(validate=False),
        "starlette-msgspec": lambda: starlette_app(validate=True),
        "fastapi-pydantic": fastapi_app,
    }
    uvicorn.run(
        apps[name](),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=False,
    )


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Start every server, warm each up, then ``--runs`` rounds of wrk, servers in turn."""
    workload = run.WORKLOADS["a"]
    names = list(SERVERS)
    runs: list[dict[str, Any]] = []
    with ExitStack() as stack:
        ports: dict[str, int] = {}
        for name in names:
            port = run.free_port()
            argv = [sys.executable, str(run.BENCH / "frameworks.py"), "--serve", name]
            if name == "null":
                argv = [sys.executable, str(run.BENCH / "run.py"), "--serve-null", str(port)]
            else:
                argv += ["--port", str(port)]
            proc = stack.enter_context(run.started(argv, f"framework-{name}"))
            run.wait_healthy(port, proc, f"framework-{name}")  # null answers any path with 200
            ports[name] = port
        for name in names:
            run.run_wrk(workload, ports[name], args.warmup, args.connections)
        for index in range(args.runs):
            for name in names if index % 2 == 0 else names[::-1]:
                run.wait_quiet(args.quiet, args.quiet_wait)
                result = run.run_wrk(workload, ports[name], args.duration, args.connections)
                seconds = result["duration_us"] / 1e6
                row = {
                    "server": name,
                    "title": SERVERS[name],
                    "run": index + 1,
                    "requests_per_s": result["requests"] / seconds,
                    "p50_ms": result["p50_us"] / 1000,
                    "p99_ms": result["p99_us"] / 1000,
                    "non2xx": result["non2xx"],
                    "wrk_cpu_pct": 100 * result["wrk_cpu_s"] / seconds,
                }
                runs.append(row)
                print(
                    f"{name:18} run {index + 1}: {row['requests_per_s']:9,.0f} req/s  "
                    f"p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:6.2f} ms  "
                    f"wrk {row['wrk_cpu_pct']:.0f} % of core {run.LOAD_CORE}",
                    file=sys.stderr,
                    flush=True,
                )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per run")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--quiet", type=float, default=15)
    parser.add_argument("--quiet-wait", type=float, default=20)
    parser.add_argument("--save", metavar="NAME", help="also write results-committed/NAME.json")
    parser.add_argument("--serve", choices=[name for name in SERVERS if name != "null"])
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    commit = provenance.measured_commit(args.save)
    args.calibration = run.calibrate()
    runs = measure(args)
    wrk_pct = statistics.median(r["wrk_cpu_pct"] for r in runs if r["server"] != "null")
    notes = [
        f"- machine: {run.machine(args.calibration)}",
        f"- apps pinned to core {run.SERVER_CORE}, `wrk -t1 -c{args.connections}` with "
        f"bench/wrk/log_single.lua on core {run.LOAD_CORE}, {args.runs} rounds of "
        f"{args.duration} s after a {args.warmup} s warm-up, apps in turn; the garbage "
        f"collector as Python sets it (untuned) in every app; wrk used a median "
        f"{wrk_pct:.0f} % of its core against the framework apps",
    ]
    document = {
        "kind": "frameworks",
        "meta": {
            "commit": commit,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "command": " ".join([".venv/bin/python", "bench/frameworks.py", *sys.argv[1:]]),
            "runs": args.runs,
            "duration": args.duration,
            "notes": notes,
        },
        "runs": runs,
    }
    paths = provenance.write_results(document, "frameworks", args.save)
    print(f"raw runs: {', '.join(str(path.relative_to(provenance.ROOT)) for path in paths)}")


if __name__ == "__main__":
    main()
