"""What one hostile request costs a running ``tracesink serve``: how long another client waits
for ``/health`` while it is in flight (the event loop's stall), and how far the process's
resident set grows (its peak, read from the kernel's high-water mark).

Shared by ``tests/integration/test_hostile_work.py`` (bounds) and ``bench/hostile_stall.py``
(figures, before and after)."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

FORM = {"content-type": "application/x-www-form-urlencoded"}
OTLP_JSON = {"content-type": "application/json", "content-encoding": "gzip"}
OTLP_PROTOBUF = {"content-type": "application/x-protobuf", "content-encoding": "gzip"}
EMPTY_RECORDS = 330_000


@dataclass(frozen=True)
class Attack:
    """One hostile request: where it goes, what it sends."""

    name: str
    path: str
    body: bytes
    headers: dict[str, str]


def form(msg: str, args: str) -> bytes:
    """An HTTPHandler-style form; ``args`` as given (commas and brackets need no escaping)."""
    return f"name=attack&trace_id=t-attack&levelno=20&msg={quote(msg)}&args={args}".encode()


def empty_records_protobuf(count: int) -> bytes:
    request = ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    for _ in range(count):
        records.add()
    serialized: bytes = request.SerializeToString()
    return serialized


def attacks() -> list[Attack]:
    """The requests of issue 21 items 1 and 5, and their siblings, each at most ~1 MB on the
    wire (the default TRACESINK_MAX_BODY_BYTES) and most of them far less."""
    records = ",".join(["{}"] * EMPTY_RECORDS)
    otlp_json = f'{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{records}]}}]}}]}}'
    attributes = ",".join(['{"key":"","value":{}}'] * 45_000)
    one_wide = (
        f'{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"attributes":[{attributes}]}}]}}]}}]}}'
    )
    return [
        Attack("form %(a)999999999s", "/log", form("%(a)999999999s", "{'a':1}"), FORM),
        Attack(
            "form two such specifiers",
            "/log",
            form("%(a)999999999s%(a)999999999s", "{'a':1}"),
            FORM,
        ),
        Attack("form 330k args", "/log", form("%s", "(" + "1," * 330_000 + ")"), FORM),
        Attack(
            "otlp/json 330k empty records", "/v1/logs", gzip.compress(otlp_json.encode()), OTLP_JSON
        ),
        Attack(
            "otlp/protobuf 330k empty records",
            "/v1/logs",
            gzip.compress(empty_records_protobuf(EMPTY_RECORDS)),
            OTLP_PROTOBUF,
        ),
        Attack("otlp/json 45k attributes", "/v1/logs", gzip.compress(one_wide.encode()), OTLP_JSON),
    ]


@dataclass(frozen=True)
class Cost:
    status: int
    seconds: float  # the attack request, sent to answered
    health_worst_s: float  # the slowest /health answer while it was in flight
    health_calls: int
    rss_growth: int  # peak resident set during the attack, less the resident set before


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


@dataclass
class _Probe:
    latencies: list[float]
    rss_peak: int  # the largest resident set seen between /health answers


@contextlib.contextmanager
def _health_probe(url: str, pid: int) -> Iterator[_Probe]:
    """/health asked again and again by another client on its own thread; each answer's time,
    and the server's resident set read after each."""
    seen = _Probe([], _status_kb(pid, "VmRSS"))
    stop = threading.Event()
    started = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                sent = time.monotonic()
                client.get(f"{url}/health")
                seen.latencies.append(time.monotonic() - sent)
                seen.rss_peak = max(seen.rss_peak, _status_kb(pid, "VmRSS"))
                started.set()

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    started.wait(30)
    try:
        yield seen
    finally:
        stop.set()
        thread.join(60)


def attack_cost(url: str, pid: int, attack: Attack) -> Cost:
    """Send ``attack`` once while another client keeps asking /health; what it cost."""
    with httpx.Client(timeout=120) as client:
        before = _status_kb(pid, "VmRSS")
        # Reset the kernel's peak (VmHWM) to the current resident set, so that the peak read
        # after is this request's; where that is not allowed, the probe's samples are the peak.
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            exact = True
        except OSError:
            exact = False
        with _health_probe(url, pid) as seen:
            first = len(seen.latencies)
            sent = time.monotonic()
            response = client.post(
                f"{url}{attack.path}", content=attack.body, headers=attack.headers
            )
            seconds = time.monotonic() - sent
            answered = len(seen.latencies)
            deadline = time.monotonic() + 60
            while len(seen.latencies) <= answered and time.monotonic() < deadline:
                time.sleep(0.001)  # the /health call in flight when it ended is part of it
            during = seen.latencies[first : answered + 1]
        peak = max(seen.rss_peak, _status_kb(pid, "VmHWM") if exact else 0)
    return Cost(response.status_code, seconds, max(during), len(during), peak - before)
