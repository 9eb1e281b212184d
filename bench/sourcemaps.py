"""Source maps: parsing a real 2 MB map, and resolving a trace of 100 stacks.

    flock /tmp/tracesink-bench.lock .venv/bin/python bench/sourcemaps.py --save

Builds a bundle of terser + acorn from node_modules with esbuild (minified, with a map: about
630 KB of code, a 2.1 MB map with sourcesContent), then measures, medians of ``--runs``:
- the parse of that map by tracesink's VLQ decoder, and by PyPI's ``sourcemap`` (0.2.1, last
  released 2016) when it is installed, as the alternative the choice was measured against;
- what the parsed map holds in memory (tracemalloc), both parsers;
- 100,000 lookups of random mapped positions;
- a trace of 100 stacks of 10 frames each, resolved by the resolver over a memory store: cold
  (the map fetched from the store and parsed once) and warm (the parsed map cached).
``--save`` writes bench/results-committed/sourcemaps.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib
import json
import platform
import random
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from tracesink.sourcemaps.parsed import ParsedMap
from tracesink.sourcemaps.record import MapLimits, MapRecord
from tracesink.sourcemaps.resolve import Resolver
from tracesink.sourcemaps.storage import MemoryMaps
from tracesink.terminal.sourcemaps import chunks_of

ROOT = Path(__file__).parents[1]
ENTRY = (
    'import { minify } from "{root}/node_modules/terser/main.js";\n'
    'import * as acorn from "{root}/node_modules/acorn/dist/acorn.mjs";\n'
    "window.x = [minify, acorn];\n"
)


def build(folder: Path) -> tuple[bytes, bytes]:
    (folder / "main.js").write_text(ENTRY.replace("{root}", str(ROOT)))
    esbuild = ROOT / "node_modules" / ".bin" / "esbuild"
    subprocess.run(
        [str(esbuild), "main.js", "--bundle", "--minify", "--sourcemap", "--outfile=out/app.js"],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    return (folder / "out/app.js").read_bytes(), (folder / "out/app.js.map").read_bytes()


def median_s(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def held_mb(build: Any) -> float:
    """What an object built by ``build()`` holds in memory once built, in MB."""
    tracemalloc.start()
    kept = build()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return round(held / 1e6, 1)


def positions(bundle: bytes, count: int) -> list[tuple[int, int]]:
    lines = bundle.decode().split("\n")
    rng = random.Random(7)
    found: list[tuple[int, int]] = []
    while len(found) < count:
        line = rng.randrange(len(lines))
        if lines[line]:
            found.append((line + 1, rng.randrange(len(lines[line])) + 1))
    return found


def stacks(points: list[tuple[int, int]], count: int, depth: int) -> list[dict[str, Any]]:
    url = "https://shop.example/assets/app.js?v=123"
    return [
        {
            "stack": "Error: x\n"
            + "\n".join(
                f"    at f{i} ({url}:{line}:{column})"
                for i, (line, column) in enumerate(points[s * depth : (s + 1) * depth])
            ),
            "release": "bench-1",
        }
        for s in range(count)
    ]


async def resolve_trace(raw_map: bytes, entries: list[dict[str, Any]]) -> tuple[float, float]:
    storage = MemoryMaps(MapLimits(64 * 1024 * 1024, 5, 3_600_000))
    map_id = hashlib.sha256(raw_map).hexdigest()[:32]
    pieces = chunks_of(raw_map)
    for n, piece in enumerate(pieces):
        await storage.put_chunk("bench-1", map_id, n, piece)
    record = MapRecord("~/assets/app.js", map_id, len(pieces), len(raw_map))
    await storage.commit("bench-1", record, replace=False)
    resolver = Resolver([storage])
    start = time.perf_counter()
    await resolver.resolve_entries([dict(e) for e in entries])
    cold = time.perf_counter() - start
    start = time.perf_counter()
    copies = [dict(e) for e in entries]
    await resolver.resolve_entries(copies)
    warm = time.perf_counter() - start
    assert all("original" in f for e in copies for f in e["resolved"] if "line" in f)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--save", action="store_true", help="write bench/results-committed/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bundle, raw_map = build(Path(folder))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    result: dict[str, Any] = {
        "commit": commit,
        "machine": platform.node(),
        "python": platform.python_version(),
        "bundle_bytes": len(bundle),
        "map_bytes": len(raw_map),
        "runs": args.runs,
    }
    result["parse_ms_tracesink"] = round(median_s(lambda: ParsedMap(raw_map), args.runs) * 1e3, 1)
    result["held_mb_tracesink"] = held_mb(lambda: ParsedMap(raw_map))
    try:
        # Measured against, not a dependency: imported by name so that mypy passes whether or
        # not it is installed.
        sourcemap = importlib.import_module("sourcemap")

        text = raw_map.decode()
        result["parse_ms_pypi_sourcemap_0_2_1"] = round(
            median_s(lambda: sourcemap.loads(text), args.runs) * 1e3, 1
        )
        result["held_mb_pypi_sourcemap_0_2_1"] = held_mb(lambda: sourcemap.loads(text))
    except ImportError:
        result["parse_ms_pypi_sourcemap_0_2_1"] = result["held_mb_pypi_sourcemap_0_2_1"] = None
    parsed = ParsedMap(raw_map)
    points = positions(bundle, 100_000)
    lookups = median_s(lambda: [parsed.lookup(line, col) for line, col in points], args.runs)
    result["lookup_us"] = round(lookups / len(points) * 1e6, 2)
    # Stack frames stand where code is: positions the map covers.
    entries = stacks([p for p in points if parsed.lookup(*p) is not None], 100, 10)
    colds, warms = [], []
    for _ in range(args.runs):
        cold, warm = asyncio.run(resolve_trace(raw_map, entries))
        colds.append(cold)
        warms.append(warm)
    result["trace_100_stacks_cold_ms"] = round(statistics.median(colds) * 1e3, 1)
    result["trace_100_stacks_warm_ms"] = round(statistics.median(warms) * 1e3, 1)
    print(json.dumps(result, indent=1))
    if args.save:
        path = ROOT / "bench" / "results-committed" / "sourcemaps.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
