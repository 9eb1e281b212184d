"""Regenerate BENCHMARKS.md's tables from the result files committed beside it.

A benchmark script writes its raw figures as JSON (``{"kind": …, "meta": {…}, "runs": […]}``);
``--save NAME`` copies them to ``bench/results-committed/NAME.json``, which is committed. In
BENCHMARKS.md every generated block sits between two markers naming its file:

    <!-- report: bench/results-committed/NAME.json -->
    … (replaced on every run of this script)
    <!-- /report -->

The file's ``kind`` picks the renderer (``RENDERERS``); a new benchmark adds its kind there and
its own markers in BENCHMARKS.md, and the same command regenerates every block:

    .venv/bin/python bench/report.py            # rewrite BENCHMARKS.md
    .venv/bin/python bench/report.py --check    # exit 1 if BENCHMARKS.md is not up to date

``--check`` also looks up every commit the file names (a hash in backticks, or after the word
"commit") in the git history: a figure must name a commit that exists.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tree_report

ROOT = Path(__file__).resolve().parent.parent
COMMIT = re.compile(r"`([0-9a-f]{7,40})(?:-dirty)?`|\bcommits? ([0-9a-f]{7,40})\b")
BLOCK = re.compile(r"(<!-- report: (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- /report -->)", re.S)

# The tables' typography, as BENCHMARKS.md writes it (ruff flags these characters in literals).
X, DASH, MINUS = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}", "\N{MINUS SIGN}"

Document = dict[str, Any]
RunRow = dict[str, Any]

# --- kind "wrk-runs": bench/run.py, tracesink against the naive baselines --------------------

WORKLOAD_TITLES = {
    "a": "(a) `POST /log`, 1 entry, 1000 traces",
    "b": "(b) `POST /logs`, 20 entries of 1 trace",
}
SERVER_TITLES = {
    "tracesink": "**tracesink**",
    "naive": "naive",
    "naive-gc": "naive, gc tuned as tracesink",
    "null": "null server (wrk ceiling)",
    "upstash": "tracesink over REST (the Upstash REST emulator)",
}
BASELINES = ("naive", "naive-gc")


def median(runs: list[RunRow], field: str) -> float:
    return statistics.median(float(run[field]) for run in runs)


def groups_of(runs: list[RunRow]) -> dict[tuple[str, str], list[RunRow]]:
    groups: dict[tuple[str, str], list[RunRow]] = {}
    for run in runs:
        groups.setdefault((run["workload"], run["server"]), []).append(run)
    return groups


def paired_ratio(ours: list[RunRow], theirs: list[RunRow]) -> float:
    """Median over rounds of tracesink's entries/s over the baseline's in the same round."""
    by_run = {run["run"]: run["entries_per_s"] for run in theirs}
    ratios = [r["entries_per_s"] / by_run[r["run"]] for r in ours if by_run.get(r["run"])]
    return statistics.median(ratios) if ratios else float("nan")


def wrk_runs_tables(document: Document) -> str:
    """Provenance, the medians, the ratios to each baseline both ways, and the targets."""
    meta, runs = document["meta"], document["runs"]
    groups = groups_of(runs)
    out = [
        f"Measured on tracesink `{meta['commit']}`, {meta['date']}: medians of "
        f"{meta['runs']} runs of {meta['duration']} s per server and workload. "
        f"Command: `{meta['command']}`.",
        "",
        *meta["notes"],
        "",
        "| workload | server | entries/s | req/s | p50 ms | p99 ms | server CPU ms / 1000 entries "
        f"| Redis cmds / stored entry | Redis CPU ms / 1000 | non-2xx | stored {MINUS} acked "
        "| duplicates |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for (workload, server), group in groups.items():
        stores = server != "null"
        ours = server == "tracesink"
        verified = stores and all(r["duplicates"] >= 0 for r in group)
        extra = statistics.median(r["stored_entries"] - r["acked_entries"] for r in group)
        rate = f"{median(group, 'entries_per_s'):,.0f}"
        cells = [
            WORKLOAD_TITLES.get(workload, workload),
            SERVER_TITLES.get(server, server),
            f"**{rate}**" if ours else rate,
            f"{median(group, 'requests_per_s'):,.0f}",
            f"{median(group, 'p50_ms'):.2f}",
            f"{median(group, 'p99_ms'):.2f}",
            f"{median(group, 'server_cpu_ms_per_1k'):.1f}",
            f"{median(group, 'commands_per_entry'):.3f}" if stores else DASH,
            f"{median(group, 'redis_cpu_ms_per_1k'):.1f}" if stores else DASH,
            f"{sum(r['non2xx'] + r['socket_errors'] for r in group)}",
            f"{extra:,.0f}" if stores else DASH,
            f"{sum(r['duplicates'] for r in group)}" if verified else DASH,
        ]
        out.append(f"| {' | '.join(cells)} |")
    out += ["", *ratio_tables(groups), "", *targets(groups)]
    return "\n".join(out)


def ratio_tables(groups: dict[tuple[str, str], list[RunRow]]) -> list[str]:
    """tracesink's medians over each baseline's: against naive as written and against naive
    with tracesink's collector tuning, so the tuning is counted on neither side or on both."""
    out = [
        "tracesink / baseline, ratio of the medians (*paired*: the median of each "
        "round's ratio, the two runs next to each other in time). *naive* runs as written; "
        "*naive, gc tuned* runs with the collector settings `tracesink serve` applies "
        "(`gc.collect(); gc.freeze(); gc.set_threshold(50_000, 50, 100)`, `--gc-tuned`).",
        "",
        "| workload | baseline | entries/s | entries/s, paired | p50 | p99 "
        "| CPU ms / 1000 entries | Redis cmds / entry |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for workload in WORKLOAD_TITLES:
        ours = groups.get((workload, "tracesink"))
        for baseline in BASELINES:
            theirs = groups.get((workload, baseline))
            if not ours or not theirs:
                continue
            ratio = median(ours, "entries_per_s") / median(theirs, "entries_per_s")
            cells = [
                f"({workload})",
                SERVER_TITLES[baseline],
                f"**{ratio:.2f}{X}**",
                f"{paired_ratio(ours, theirs):.2f}{X}",
            ]
            for field in ("p50_ms", "p99_ms", "server_cpu_ms_per_1k", "commands_per_entry"):
                base = median(theirs, field)
                cells.append(f"{median(ours, field) / base:.2f}{X}" if base else DASH)
            out.append(f"| {' | '.join(cells)} |")
    return out


def targets(groups: dict[tuple[str, str], list[RunRow]]) -> list[str]:
    out = ["| target | measured | met? |", "|---|--:|---|"]
    a, b = groups.get(("a", "tracesink")), groups.get(("b", "tracesink"))
    if a:
        for baseline in BASELINES:
            theirs = groups.get(("a", baseline))
            if theirs:
                ratio = median(a, "entries_per_s") / median(theirs, "entries_per_s")
                out.append(
                    f"| (a) ≥ 5{X} the entries/s of {SERVER_TITLES[baseline]}, same run "
                    f"| {ratio:.2f}{X} (paired {paired_ratio(a, theirs):.2f}{X}) "
                    f"| {_met(ratio >= 5)} |"
                )
        p99, commands = median(a, "p99_ms"), median(a, "commands_per_entry")
        out.append(f"| (a) p99 ≤ 10 ms | {p99:.1f} ms | {_met(p99 <= 10)} |")
        out.append(f"| (a) Redis commands per stored entry ≤ 3.25 | {commands:.2f} "
                   f"| {_met(commands <= 3.25)} |")  # fmt: skip
    rest = groups.get(("a", "upstash"))
    if a and rest:
        share = median(rest, "entries_per_s") / median(a, "entries_per_s")
        paired = paired_ratio(rest, a)
        out.append(
            f"| (a) over REST ≥ 85 % of the entries/s over redis://, same run "
            f"| {share:.0%} (paired {paired:.0%}) | {_met(share >= 0.85)} |"
        )
    if b:
        rate, commands = median(b, "entries_per_s"), median(b, "commands_per_entry")
        out.append(f"| (b) ≥ 100,000 entries/s | {rate:,.0f} | {_met(rate >= 100_000)} |")
        out.append(f"| (b) Redis commands per stored entry ≤ 0.25 | {commands:.3f} "
                   f"| {_met(commands <= 0.25)} |")  # fmt: skip
    return out


def _met(met: bool) -> str:
    return "yes" if met else "**no**"


# --- kind "frameworks": bench/frameworks.py, the serving stacks' own ceilings ----------------


def frameworks_table(document: Document) -> str:
    meta, runs = document["meta"], document["runs"]
    by_server: dict[str, list[RunRow]] = {}
    for run in runs:
        by_server.setdefault(run["server"], []).append(run)
    out = [
        f"Measured on tracesink `{meta['commit']}`, {meta['date']}: medians of {meta['runs']} "
        f"runs of {meta['duration']} s. Command: `{meta['command']}`.",
        "",
        *meta["notes"],
        "",
        f"| server | req/s (median) | req/s (min{DASH}max) | p50 ms | p99 ms | non-2xx |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for group in by_server.values():
        rates = [r["requests_per_s"] for r in group]
        out.append(
            f"| {group[0]['title']} | {median(group, 'requests_per_s'):,.0f} "
            f"| {min(rates):,.0f}{DASH}{max(rates):,.0f} | {median(group, 'p50_ms'):.2f} "
            f"| {median(group, 'p99_ms'):.2f} | {sum(r['non2xx'] for r in group)} |"
        )
    return "\n".join(out)


RENDERERS: dict[str, Callable[[Document], str]] = {
    "wrk-runs": wrk_runs_tables,
    "frameworks": frameworks_table,
    "tree-compare": tree_report.tree_compare_tables,  # bench/compare_trees.py
}


# --- the document -------------------------------------------------------------------------


def render(path: str) -> str:
    document: Document = json.loads((ROOT / path).read_text())
    kind = document.get("kind")
    if kind not in RENDERERS:
        raise SystemExit(f"{path}: no renderer for kind {kind!r} (known: {sorted(RENDERERS)})")
    return RENDERERS[kind](document)


def regenerate(text: str) -> str:
    """``text`` with every marked block rendered again from the file its marker names."""
    return BLOCK.sub(lambda m: f"{m.group(1)}{render(m.group('path'))}\n{m.group(4)}", text)


def shallow_clone() -> bool:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--is-shallow-repository"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() == "true"


def unknown_commits(text: str) -> list[str]:
    """The commits ``text`` names that this repository's history does not hold."""
    named = {a or b for a, b in COMMIT.findall(text)}
    return sorted(
        commit
        for commit in named
        if subprocess.run(
            ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"],
            capture_output=True,
        ).returncode
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    text = args.file.read_text()
    blocks = len(BLOCK.findall(text))
    updated = regenerate(text)
    if args.check:
        if updated != text:
            sys.exit(f"{args.file.name} is out of date: run .venv/bin/python bench/report.py")
        if shallow_clone():
            print("a shallow clone: the commits named are not looked up")
        elif unknown := unknown_commits(text):
            sys.exit(f"{args.file.name} names commits not in the history: {', '.join(unknown)}")
        print(f"{args.file.name}: {blocks} generated blocks up to date, every commit named found")
        return
    args.file.write_text(updated)
    print(f"{args.file.name}: {blocks} generated blocks regenerated")


if __name__ == "__main__":
    main()
