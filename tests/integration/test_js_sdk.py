"""The JavaScript SDK (static/sdk.mjs) under real Node against a real `tracesink serve`:
batching, flush, the timer, 429, a dead endpoint, trace propagation, hostile input, and the
copy served at GET /sdk.mjs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import client_policy as policy
from tests.support.answering import answering_429
from tests.support.clock_skew import check_corrected
from tests.support.redis_server import free_port
from tests.support.service import Service, serving

STATIC = Path(__file__).parents[2] / "src" / "tracesink" / "static"
SDK = STATIC / "sdk.mjs"
SCENARIOS = Path(__file__).parent / "js" / "sdk_scenarios.mjs"
DROP_REASONS = ("queue_full", "rate_limited", "refused", "undeliverable")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]


def run_node(
    scenario: str, url: str, sdk: Path = SDK, env: dict[str, str] | None = None
) -> dict[str, Any]:
    timeout_ms = str(int(policy.DELIVERY_TIMEOUT_S * 1000))
    done = subprocess.run(
        ["node", str(SCENARIOS), sdk.as_uri(), scenario, url],
        capture_output=True,
        text=True,
        timeout=60 + policy.DELIVERY_TIMEOUT_S,
        env={**os.environ, "DELIVERY_TIMEOUT_MS": timeout_ms, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.pop("unhandled") == 0, "the SDK left a promise rejection unhandled"
    return result


@pytest.fixture(scope="module")
def sink() -> Iterator[Service]:
    with serving({"TRACESINK_TRACE_LIMIT": "50"}) as running:
        yield running


def entries(service: Service, trace_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(f"{service.url}/logs/{trace_id}").json()["entries"]
    return [e for e in found if e.get("kind") != "dropped"]


def test_entries_go_in_batches_and_flush_delivers_them(sink: Service) -> None:
    """12 entries with batchSize 5 are 3 requests (5, 5, 2); flush resolves once all are
    stored, with the system sent as X-Log-System."""
    result = run_node("batching", sink.url)
    assert result["calls"] == [5, 5, 2]
    assert result["flushed"] == {
        "sent": 12,
        "pending": 0,
        "dropped": 0,
        "droppedBy": dict.fromkeys(DROP_REASONS, 0),
        "pausedUntil": 0,
    }
    stored = entries(sink, "js-batch")
    assert [e["message"] for e in stored] == [f"entry {i}" for i in range(12)]
    assert {(e["system"], e["detected_by"]) for e in stored} == {("convex", "x-log-system")}
    assert stored[3]["context"] == {"i": 3}


def test_the_timer_sends_without_a_flush(sink: Service) -> None:
    """An entry is sent flushIntervalMs after it was logged, flush or not."""
    assert run_node("timer", sink.url) == {"pending": 0}
    [entry] = entries(sink, "js-timer")
    assert (entry["message"], entry["level"]) == ("sent by the timer", "warn")


def test_limit_refusals_follow_the_client_policy() -> None:
    """The three clients' shared scenario (tests/support/client_policy.py): items refused inside
    a 200 and a batch refused whole (429) count as dropped ``rate_limited``, never resent; what
    the server stored counts as sent; sending pauses for Retry-After (flush reports the entry
    pending), then delivers."""
    with serving(policy.LIMITED) as limited:
        result = run_node("policy", limited.url)
        observed = policy.Observed(
            policy.Counts.of(**result["first"]),
            policy.Counts.of(**result["second"]),
            result["held"],
            result["storedWhileHeld"],
            policy.Counts.of(**result["final"]),
        )
        policy.check(limited, "js-policy", observed)


def test_retry_after_is_read_in_both_forms_and_bounded() -> None:
    """A 429's Retry-After as delta-seconds is the pause; an HTTP-date a year ahead is capped at
    maxPauseMs, one in the past is no pause, an unreadable one a second; each refused entry is
    dropped as rate_limited."""
    a_year = formatdate(time.time() + 365 * 86400, usegmt=True)
    with answering_429(["12", a_year, formatdate(0, usegmt=True), "soon"]) as url:
        pauses = run_node("retryAfter", url)["pauses"]
    for pause, expected in zip(pauses, [12_000, 30_000, 0, 1000], strict=True):
        assert expected <= pause["ms"] < expected + 5000, (pauses, expected)
        assert pause["dropped"] == 1


def test_what_the_queue_could_not_hold_is_counted_and_reported_in_band(sink: Service) -> None:
    """A 2-entry queue holding 4: 2 sent, 2 dropped as queue_full, and the batch that carries
    the 2 kept carries a report of the drop, spelled as every client spells it."""
    flushed = run_node("queueFull", sink.url)["flushed"]
    assert (flushed["sent"], flushed["droppedBy"]["queue_full"]) == (2, 2)
    found = httpx.get(f"{sink.url}/logs/js-full").json()["entries"]
    assert [e["message"] for e in found] == [
        "kept or not 0",
        "kept or not 1",
        "tracesink sdk dropped 2 entries (2 queue_full)",
    ]
    assert found[-1]["context"] == {"tracesink_dropped": {"queue_full": 2}}


@pytest.mark.parametrize("skew_ms", [5000, -5000])
def test_a_skewed_clock_is_sent_and_corrected(sink: Service, skew_ms: int) -> None:
    """Under a clock 5 s ahead or behind, the SDK's X-Client-Clock lets the service correct
    its entries' times back to the service's clock, keeping the time sent."""
    assert run_node("skewedClock", sink.url, env={"SKEW_MS": str(skew_ms)}) == {"sent": 1}
    [entry] = entries(sink, f"js-skew{skew_ms}")
    check_corrected(entry, skew_ms)


def test_a_dead_endpoint_neither_throws_nor_hangs() -> None:
    """Nothing listens: flush resolves with every entry dropped, errors go to onError only."""
    result = run_node("dead", f"http://127.0.0.1:{free_port()}")
    assert result["flushed"]["dropped"] == 3
    assert result["flushed"]["droppedBy"] == {**dict.fromkeys(DROP_REASONS, 0), "undeliverable": 3}
    assert result["errors"] >= 2  # one per attempt
    assert result["ms"] < 10_000


def test_trace_ids_are_read_from_requests_and_carried_on(sink: Service) -> None:
    """traceIdFrom reads X-Trace-Id or traceparent from a Request, Headers or a plain object;
    tracedFetch and traceHeaders carry the trace on, and tracesink files the entries there."""
    result = run_node("propagation", sink.url)
    w3c = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert result["traceId"] == w3c
    assert result["fromHeaders"] == "plain-object"
    assert result["fromNothing"] is None
    assert result["fromBad"] is None
    assert result["statuses"] == [200, 200]
    assert re.fullmatch(rf"00-{w3c}-[0-9a-f]{{16}}-01", result["traceparent"])
    [by_header] = entries(sink, "js-prop")
    assert by_header["trace_id_from"] == "x-trace-id"
    [by_parent] = entries(sink, w3c)
    assert by_parent["trace_id_from"] == "traceparent"


def test_an_error_given_as_context_keeps_its_stack(sink: Service) -> None:
    """log.error("msg", err) and log.error("msg", { err }) keep the message, store the Error's
    stack as the entry's stack and its "Name: message" in the context (plain JSON would turn
    it into {}); an Error as the message keeps its own stack; no Error, no stack."""
    assert run_node("errorStacks", sink.url)["flushed"] == 4
    stored = {e["message"]: e for e in entries(sink, "js-stacks")}
    first = stored["charge failed"]
    assert first["stack"].startswith("RangeError: card declined\n    at ")
    assert first["context"] == {"error": "RangeError: card declined"}
    second = stored["charge failed again"]
    assert second["stack"].startswith("TypeError: no card\n")
    assert second["context"] == {"err": "TypeError: no card", "attempt": 2}
    third = stored["the error itself"]
    assert third["stack"].startswith("Error: the error itself\n")
    assert third["context"] == {"cause": "RangeError: card declined"}
    assert "stack" not in stored["no error here"]


def test_hostile_input_never_throws(sink: Service) -> None:
    """Circular and BigInt contexts, non-string messages, a bad endpoint and trace id, a fetch
    that throws: nothing throws or rejects, and what can be sent is."""
    result = run_node("hostile", sink.url)
    assert result["generated"] is True
    assert result["results"][0]["sent"] == 5
    assert result["results"][1]["dropped"] == 1
    stored = {e["message"]: e for e in entries(sink, "js-hostile")}
    assert "unserializable" in stored["circular context"]["context"]
    assert stored["typed"]["stack"].startswith("TypeError: typed")
    assert stored["typed"]["context"] == {"value": [1, 2]}


def test_the_served_sdk_is_the_repository_copy_and_runs(sink: Service, tmp_path: Path) -> None:
    """GET /sdk.mjs serves static/sdk.mjs as JavaScript (and /sdk.d.ts its types); the copy
    downloaded from the service runs the same scenario."""
    served = httpx.get(f"{sink.url}/sdk.mjs")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    assert served.content == SDK.read_bytes()
    types = httpx.get(f"{sink.url}/sdk.d.ts")
    assert types.content == (STATIC / "sdk.d.ts").read_bytes()
    downloaded = tmp_path / "sdk.mjs"
    downloaded.write_bytes(served.content)
    assert run_node("timer", sink.url, downloaded) == {"pending": 0}


def test_every_export_is_typed() -> None:
    """Each name sdk.mjs exports is declared in sdk.d.ts, and nothing more."""
    source = SDK.read_text()
    exported = set(re.findall(r"^export (?:async )?function (\w+)", source, re.M))
    for group in re.findall(r"^export \{([^}]*)\}", source, re.M):
        exported |= {name.strip() for name in group.split(",")}
    declared = set(
        re.findall(
            r"^export declare (?:function|const) (\w+)", (STATIC / "sdk.d.ts").read_text(), re.M
        )
    )
    assert exported == declared


# The project's own tsc (package-lock.json; scripts/test runs `npm ci`), else one on PATH.
TSC = Path(__file__).parents[2] / "node_modules" / ".bin" / "tsc"
TSC_COMMAND = str(TSC) if TSC.exists() else shutil.which("tsc")


@pytest.mark.skipif(TSC_COMMAND is None, reason="tsc is not installed (npm ci)")
def test_the_types_compile_under_strict_typescript(tmp_path: Path) -> None:
    """sdk.d.ts, saved as an .mjs file's .d.mts (as docs/sources.md says), types a Worker-style use
    of every export under `tsc --strict`."""
    (tmp_path / "tracesink.mjs").write_bytes(SDK.read_bytes())
    (tmp_path / "tracesink.d.mts").write_bytes((STATIC / "sdk.d.ts").read_bytes())
    usage = tmp_path / "usage.mts"
    usage.write_bytes((SCENARIOS.parent / "types_usage.mts").read_bytes())
    done = subprocess.run(
        [
            str(TSC_COMMAND),
            "--noEmit",
            "--strict",
            "--module",
            "nodenext",
            "--moduleResolution",
            "nodenext",
            "--target",
            "es2022",
            "--lib",
            "es2022,dom",
            str(usage),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
