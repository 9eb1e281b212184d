"""What a /health flood spends, and what a burst of heavy reads does to writes (issue 21,
items 3 and 8), on a real ``tracesink serve`` of this tree or another (``--tree``) and a real
redis-server.

1. **/health flood**: the budget is 3,000 commands a day; 4,000 ``GET /health`` over 20
   keep-alive connections; then one ``POST /log``. Prints the commands Redis ran for the flood
   (``INFO commandstats``) and whether ingest is still admitted.
2. **Read burst**: 500 traces of 20 entries; then at once 300 ``GET /traces?limit=500``, 50
   ``POST /log`` and 100 ``GET /health``, on a redis-server that takes ``--maxclients``
   connections (hosted plans cap them: 30 on some free ones; 10,000 is redis-server's
   default). Prints each kind's answers (status and ``field``, ``queued``, the health status, or
   the client's error) and how long the burst took.

    git archive <commit> src | tar -x -C /tmp/base     # the tree before, without a worktree
    flock /tmp/tracesink-bench.lock .venv/bin/python bench/budget_reads.py --tree /tmp/base \
        --label before --save
    flock /tmp/tracesink-bench.lock .venv/bin/python bench/budget_reads.py --label after --save

``--save`` writes the figures to ``bench/results-committed/budget-reads-LABEL.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.redis_server import free_port, running_redis_server  # noqa: E402

NOT_COUNTED = {"cmdstat_info", "cmdstat_config|resetstat", "cmdstat_hello"}


def serve(tree: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    clean["PYTHONPATH"] = str(tree / "src")
    argv = [sys.executable, "-m", "tracesink", "serve", "--port", str(port)]
    process = subprocess.Popen(
        argv, env={**clean, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("tracesink did not start")


def commands(client: redis.Redis) -> int:
    stats: dict[str, dict[str, int]] = client.info("commandstats")
    return sum(s["calls"] for name, s in stats.items() if name not in NOT_COUNTED)


async def health_calls(port: int, calls: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(calls):
        writer.write(b"GET /health HTTP/1.1\r\nHost: b\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        await reader.readexactly(length)
    writer.close()


def health_flood(tree: Path, server_url: str) -> dict[str, Any]:
    client = redis.Redis.from_url(server_url)
    client.flushall()
    process, url = serve(
        tree, {"TRACESINK_STORE": server_url, "TRACESINK_MAX_COMMANDS_PER_DAY": "3000"}
    )
    try:
        httpx.post(f"{url}/log", json={"trace_id": "t", "message": "m"})
        before = commands(client)
        port = int(url.rsplit(":", 1)[1])
        started = time.monotonic()

        async def flood() -> None:
            await asyncio.gather(*(health_calls(port, 200) for _ in range(20)))

        asyncio.run(flood())
        seconds = time.monotonic() - started
        spent = commands(client) - before
        after = httpx.post(f"{url}/log", json={"trace_id": "t", "message": "m"}).status_code
    finally:
        process.kill()
        process.wait()
    return {"health_calls": 4000, "seconds": seconds, "commands": spent, "ingest_after": after}


async def burst(url: str) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=500)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        for start in range(0, 500, 50):
            lines = [
                json.dumps({"trace_id": f"t{i}", "message": "x" * 200, "level": "info"})
                for i in range(start, start + 50)
                for _ in range(20)
            ]
            await http.post(
                "/logs", content="\n".join(lines), headers={"content-type": "application/x-ndjson"}
            )

        async def read() -> str:
            try:
                r = await http.get("/traces", params={"limit": 500})
            except httpx.HTTPError as exc:
                return f"read {type(exc).__name__}"
            field = r.json().get("field") or r.json().get("error", "")[:40]
            return f"read {r.status_code}" + ("" if r.status_code == 200 else f" {field}")

        async def write(i: int) -> str:
            await asyncio.sleep(i * 0.02)
            try:
                r = await http.post("/log", json={"trace_id": f"w{i}", "message": "m"})
            except httpx.HTTPError as exc:
                return f"write {type(exc).__name__}"
            return f"write {r.status_code}" + (" queued" if r.json().get("queued") else "")

        async def health(i: int) -> str:
            await asyncio.sleep(i * 0.02)
            try:
                r = await http.get("/health")
            except httpx.HTTPError as exc:
                return f"health {type(exc).__name__}"
            return f"health {r.status_code} {r.json()['status']}"

        started = time.monotonic()
        answers = await asyncio.gather(
            *(read() for _ in range(300)),
            *(write(i) for i in range(50)),
            *(health(i) for i in range(100)),
        )
        seconds = time.monotonic() - started
    return {"seconds": seconds, "answers": dict(sorted(Counter(answers).items()))}


def read_burst(tree: Path, server_url: str) -> dict[str, Any]:
    redis.Redis.from_url(server_url).flushall()
    env = {
        "TRACESINK_STORE": server_url,
        "TRACESINK_GLOBAL_LIMIT": "100000",
        "TRACESINK_TRACE_LIMIT": "1000",
    }
    process, url = serve(tree, env)
    try:
        return asyncio.run(burst(url))
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose src/ to run")
    parser.add_argument("--label", default="after", help="name of the results")
    parser.add_argument("--save", action="store_true", help="write bench/results-committed/")
    parser.add_argument("--maxclients", type=int, default=30, help="the read burst's Redis cap")
    args = parser.parse_args()
    with running_redis_server() as server:
        flood = health_flood(args.tree, server.url)
    print(
        f"/health flood: {flood['health_calls']} calls in {flood['seconds']:.2f} s, "
        f"{flood['commands']} commands; POST /log after it: {flood['ingest_after']}"
    )
    with running_redis_server(["--maxclients", str(args.maxclients)]) as server:
        reads = read_burst(args.tree, server.url)
    reads["maxclients"] = args.maxclients
    print(f"read burst (Redis maxclients {args.maxclients}): {reads['seconds']:.1f} s")
    for answer, n in reads["answers"].items():
        print(f"  {answer:<40} {n}")
    if args.save:
        path = ROOT / "bench" / "results-committed" / f"budget-reads-{args.label}.json"
        path.write_text(json.dumps({"health_flood": flood, "read_burst": reads}, indent=2) + "\n")
        print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
