"""The event-loop stall and memory of the hostile requests of issue 21 items 1 and 5.

Runs a real ``tracesink serve`` (memory store) of this tree or of another checkout (``--tree``:
its ``src/`` first on ``PYTHONPATH``), sends each attack of ``tests/support/stall.py`` ``--runs``
times while another client keeps asking ``/health``, and prints per attack: its status, how long
it took, the slowest ``/health`` answer while it was in flight (the stall every other client
sees) and the peak growth of the server's resident set (``VmHWM`` after ``clear_refs``).

    git archive <commit> src | tar -x -C /tmp/base     # the tree before, without a worktree
    flock /tmp/tracesink-bench.lock .venv/bin/python bench/hostile_stall.py \
        --tree /tmp/base --label before
    flock /tmp/tracesink-bench.lock .venv/bin/python bench/hostile_stall.py --label after --save

``--save`` writes the raw figures to ``bench/results-committed/hostile-stall-LABEL.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.redis_server import free_port  # noqa: E402  # after the path is set
from tests.support.stall import attack_cost, attacks  # noqa: E402


def serve(tree: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env["PYTHONPATH"] = str(tree / "src")
    argv = [sys.executable, "-m", "tracesink", "serve", "--port", str(port)]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"tracesink did not start: {process.communicate()[1].decode()[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose src/ to run")
    parser.add_argument("--label", default="after", help="name of the results")
    parser.add_argument("--runs", type=int, default=3, help="times each attack is sent")
    parser.add_argument("--save", action="store_true", help="write bench/results-committed/")
    args = parser.parse_args()
    port = free_port()
    process = serve(args.tree, port)
    url = f"http://127.0.0.1:{port}"
    rows: dict[str, Any] = {}
    try:
        for attack in attacks():
            runs = [asdict(attack_cost(url, process.pid, attack)) for _ in range(args.runs)]
            worst = max(run["health_worst_s"] for run in runs)
            rows[attack.name] = {
                "runs": runs,
                "status": runs[0]["status"],
                "median_s": statistics.median(run["seconds"] for run in runs),
                "health_worst_s": worst,
                "rss_growth_mb": max(run["rss_growth"] for run in runs) / 1e6,
            }
            row = rows[attack.name]
            print(
                f"{attack.name:<34} {row['status']}  request {row['median_s'] * 1000:8.1f} ms  "
                f"/health worst {worst * 1000:8.1f} ms  RSS peak +{row['rss_growth_mb']:7.1f} MB",
                flush=True,
            )
    finally:
        process.kill()
        process.wait()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    meta = {
        "label": args.label,
        "tree": str(args.tree),
        "commit_of_harness": commit,
        "command": " ".join(sys.argv),
        "machine": f"{platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    report = {"kind": "hostile-stall", "meta": meta, "attacks": rows}
    folder = ROOT / "bench" / ("results-committed" if args.save else "results")
    folder.mkdir(exist_ok=True)
    out = folder / f"hostile-stall-{args.label}.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
