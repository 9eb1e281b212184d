"""BENCHMARKS.md's tables for bench/compare_trees.py (kind ``tree-compare``): two trees, the
floor and the naive design, per workload, and the CPU each tree adds above the floor.

Figures are medians of the rounds; a ratio marked *paired* is the median over rounds of the
ratio within a round (the servers of one round ran next to each other in time, so a slow minute
of the machine weighs on both sides of it). *core 0 other %* is the share of the server's core
that other processes used during the run (bench/run.py's noise column): when it is high, the
entries/s and latencies say more about the machine than about the server.
"""

from __future__ import annotations

import statistics
from typing import Any

Document = dict[str, Any]
RunRow = dict[str, Any]

X, DASH = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}"
WORKLOADS = {
    "a": "(a) `POST /log`, 1 entry, 1000 traces",
    "b": "(b) `POST /logs`, 20 entries of 1 trace",
}
TITLES = {
    "floor": "floor: bare ASGI app",
    "base": "base",
    "head": "head",
    "naive": "naive (FastAPI + LPUSH/EXPIRE)",
}
CPU = "server_cpu_ms_per_1k"  # ms per 1000 entries = us per entry


def _by_round(runs: list[RunRow], workload: str, server: str) -> dict[int, RunRow]:
    return {r["run"]: r for r in runs if r["workload"] == workload and r["server"] == server}


def _median(rows: dict[int, RunRow], field: str) -> float:
    return statistics.median(float(r[field]) for r in rows.values())


def above_floor(rows: dict[int, RunRow], floor: dict[int, RunRow]) -> dict[int, float]:
    """Per round: the server's CPU per entry less the floor's in the same round (us)."""
    return {n: float(r[CPU]) - float(floor[n][CPU]) for n, r in rows.items() if n in floor}


def paired(top: dict[int, float], bottom: dict[int, float]) -> float:
    ratios = [top[n] / bottom[n] for n in top if bottom.get(n)]
    return statistics.median(ratios) if ratios else float("nan")


def _field(rows: dict[int, RunRow], field: str) -> dict[int, float]:
    return {n: float(r[field]) for n, r in rows.items()}


def workload_tables(runs: list[RunRow], workload: str) -> list[str]:
    servers = {s: _by_round(runs, workload, s) for s in TITLES}
    floor = servers["floor"]
    out = [
        f"**{WORKLOADS.get(workload, workload)}**",
        "",
        "| server | entries/s | p50 ms | p99 ms | CPU us / entry | above the floor, us / entry "
        "| Redis cmds / entry | core 0 other % |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for server, rows in servers.items():
        if not rows:
            continue
        above = above_floor(rows, floor) if server != "floor" and floor else {}
        cells = [
            TITLES[server],
            f"{_median(rows, 'entries_per_s'):,.0f}",
            f"{_median(rows, 'p50_ms'):.2f}",
            f"{_median(rows, 'p99_ms'):.2f}",
            f"{_median(rows, CPU):.1f}",
            f"{statistics.median(above.values()):.1f}" if above else DASH,
            f"{_median(rows, 'commands_per_entry'):.3f}" if server != "floor" else DASH,
            f"{_median(rows, 'core0_other_pct'):.0f}",
        ]
        out.append(f"| {' | '.join(cells)} |")
    base, head, naive = servers["base"], servers["head"], servers["naive"]
    if not (base and head and floor):
        return out
    base_above, head_above = above_floor(base, floor), above_floor(head, floor)
    halved = paired(base_above, head_above)
    out += [
        "",
        "| ratio | paired | of the medians |",
        "|---|--:|--:|",
        f"| CPU above the floor per entry, base / head (target {X}2) | **{halved:.2f}{X}** "
        f"| {statistics.median(base_above.values()) / statistics.median(head_above.values()):.2f}"
        f"{X} |",
        _ratio_row("CPU per entry, base / head", _field(base, CPU), _field(head, CPU)),
        _ratio_row(
            "entries/s, head / base",
            _field(head, "entries_per_s"),
            _field(base, "entries_per_s"),
        ),
    ]
    if naive:
        for name, rows in (("head", head), ("base", base)):
            out.append(
                _ratio_row(
                    f"entries/s, {name} / naive",
                    _field(rows, "entries_per_s"),
                    _field(naive, "entries_per_s"),
                )
            )
        out.append(_ratio_row("CPU per entry, naive / head", _field(naive, CPU), _field(head, CPU)))
    return out


def _ratio_row(title: str, top: dict[int, float], bottom: dict[int, float]) -> str:
    of_medians = statistics.median(top.values()) / statistics.median(bottom.values())
    return f"| {title} | {paired(top, bottom):.2f}{X} | {of_medians:.2f}{X} |"


def tree_compare_tables(document: Document) -> str:
    meta, runs = document["meta"], document["runs"]
    out = [
        f"Measured by tracesink `{meta['commit']}`, {meta['date']}: base `{meta['base']}`, "
        f"head `{meta['head']}`; medians of {meta['runs']} rounds of {meta['duration']} s. "
        f"Command: `{meta['command']}`.",
        "",
        *meta["notes"],
    ]
    for workload in dict.fromkeys(r["workload"] for r in runs):
        out += ["", *workload_tables(runs, workload)]
    return "\n".join(out)
