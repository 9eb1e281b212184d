"""The edge Worker and the Python service enforce one set of rules (src/tracesink/rules.json).

The Worker's own modules run under node (tests/edge/rules_probe.mjs) and are asked what they make
of the same environment and the same request bodies as the Python service's code: the defaults
and limits they derive, the refusal of each bad variable, and each entry's stored JSON or 4xx.
A default, a size, a level, a pattern or a message changed on one side only fails here. The last
test adds a field to a copy of the rules file and nothing else, and both runtimes take it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tracesink.config import Settings, load_settings
from tracesink.errors import ConfigurationError, ValidationError
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import decode_batch, decode_entry, prepare_entry
from tracesink.pipeline import policy_from, rules_from

ROOT = Path(__file__).parents[2]
PROBE = Path(__file__).with_name("rules_probe.mjs")
NOW_MS = 1_795_946_400_000
ID = re.compile(rb'"id":"[0-9a-f]{28}"')

pytestmark = pytest.mark.usefixtures("node_ready")

# Bad values of every variable the Worker reads, each refused for its own reason.
BAD_VARIABLES = [
    {"TRACESINK_GLOBAL_LIMIT": "lots"},
    {"TRACESINK_TRACE_LIMIT": "0"},
    {"TRACESINK_WINDOW_S": "1.5"},
    {"TRACESINK_TTL_S": "-3"},
    {"TRACESINK_MAX_BODY_BYTES": "x"},
    {"TRACESINK_MAX_MESSAGE_BYTES": "0"},
    {"TRACESINK_MAX_CONTEXT_BYTES": "big"},
    {"TRACESINK_MAX_CONTEXT_DEPTH": "0"},
    {"TRACESINK_MAX_BATCH_ITEMS": "many"},
    {"TRACESINK_SYSTEM_SHARES": "browser"},
    {"TRACESINK_SYSTEM_SHARES": "Browser=10"},
    {"TRACESINK_SYSTEM_SHARES": "manual=10"},
    {"TRACESINK_SYSTEM_SHARES": "browser=101"},
    {"TRACESINK_SYSTEM_SHARES": "browser=60,worker=60"},
    {"TRACESINK_CORS_ORIGINS": "app.example.com"},
    {"TRACESINK_INGEST_KEYS": "pk_x=*"},
    {"TRACESINK_INGEST_KEYS": "pk_long_enough@Not-A-System=*"},
    {"TRACESINK_KEY_PREFIX": "has space"},
    {"TRACESINK_MAX_COMMANDS_PER_DAY": "-1"},
    {"TRACESINK_MAX_COMMANDS_PER_DAY": "some"},
    {"TRACESINK_READ_RESERVE": "95"},
    {"TRACESINK_MAX_TRACE_ENTRIES": "1"},
]

BROWSER = {"origin": "https://app.example"}
# Request bodies (and headers) both must store alike or refuse with the same words.
ENTRIES: list[dict[str, Any]] = [
    {"body": {"trace_id": "t-1", "message": "hello"}},
    {
        "body": {
            "trace_id": "t-1",
            "message": "all fields",
            "level": "WARNING",
            "system": "convex",
            "user_id": 42,
            "stack": "Error: x\n  at y",
            "timestamp": "2026-05-01T10:00:00.123+02:00",
            "context": {"a": [1, {"b": None}], "c": "ü"},
        }
    },
    {"body": {"trace_id": "t-1", "message": "numeric", "level": 35, "timestamp": 1715879172}},
    {"body": {"trace_id": "t-1", "message": "alias", "level": "fatal", "system": "python"}},
    {"body": {"message": "from a header"}, "headers": {"x-trace-id": "hdr-1"}},
    {"body": {"message": "no trace at all"}},
    {"body": {"message": "bad header"}, "headers": {"x-trace-id": "no spaces"}},
    {"body": {"message": "w3c"}, "headers": {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"}},
    {"body": {"message": "w3c"}, "headers": {"traceparent": "00-abc"}},
    {"body": {"message": "w3c"}, "headers": {"traceparent": f"ff-{'ab' * 16}-{'cd' * 8}-01"}},
    {"body": {"message": "w3c"}, "headers": {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01-x"}},
    {"body": {"message": "w3c"}, "headers": {"traceparent": f"00-{'0' * 32}-{'cd' * 8}-01"}},
    {"body": {"trace_id": "t-1", "message": "m" * 20_000}},
    {"body": {"trace_id": "bad id", "message": "x"}},
    {"body": {"trace_id": "t-1", "message": "x", "level": "loud"}},
    {"body": {"trace_id": "t-1", "message": "x", "level": -1}},
    {"body": {"trace_id": "t-1", "message": 5}},
    {"body": {"trace_id": "t-1"}},
    {"body": [1, 2]},
    {"body": {"trace_id": "t-1", "message": "x", "system": "Not A System"}},
    {"body": {"trace_id": "t-1", "message": "x", "context": [1]}},
    {"body": {"trace_id": "t-1", "message": "x", "context": {"k": "v" * 17_000}}},
    {"body": {"trace_id": "t-1", "message": "x", "context": {"a": [[[[[[[[[1]]]]]]]]]}}},
    {"body": {"trace_id": "t-1", "message": "x", "user_id": "u" * 300}},
    {"body": {"trace_id": "t-1", "message": "x", "timestamp": "yesterday"}},
    {"body": {"trace_id": "t-1", "message": "x", "timestamp": -5}},
    {"body": {"trace_id": "t-1", "message": "x", "timestamp": 9e15}},
    {"body": {"trace_id": "t-1", "message": "x", "system": "worker"}, "pinned": "browser"},
]
BATCHES = [
    {"body": "   ", "max_items": 10},
    {"body": "[]", "max_items": 10},
    {"body": "[1, 2", "max_items": 10},
    {"body": '{"message": "a"}\n{"message": "b"}\n{"message": "c"}', "max_items": 2},
    {"body": '[{"message": "a"}, {"level": "x"}]', "max_items": 10},
]


def probe(cases: dict[str, Any], edge_src: Path | None = None) -> dict[str, Any]:
    """The Worker's answers to ``cases``, from its own modules under node."""
    command = ["node", str(PROBE), *([str(edge_src)] if edge_src else [])]
    done = subprocess.run(
        command, input=json.dumps(cases), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    answers: dict[str, Any] = json.loads(done.stdout)
    return answers


def edge_cases() -> dict[str, Any]:
    entries = [
        {
            "body": json.dumps(case["body"]),
            "headers": case.get("headers", BROWSER),
            "pinned": case.get("pinned"),
        }
        for case in ENTRIES
    ]
    return {"env": BAD_VARIABLES, "entries": entries, "batches": BATCHES, "now_ms": NOW_MS}


def refusal(error: ValidationError) -> dict[str, Any]:
    return {"error": error.message, "field": error.field, "status": error.status}


def python_entry(case: dict[str, Any]) -> dict[str, Any]:
    sender = Sender(case.get("headers", BROWSER), pinned=case.get("pinned"))
    try:
        incoming = decode_entry(json.dumps(case["body"]).encode())
        entry = prepare_entry(incoming, rules_from(Settings()), sender, NOW_MS)
    except ValidationError as exc:
        return refusal(exc)
    return {"payload": entry.payload.decode(), "system": entry.system}


def python_batch(case: dict[str, Any]) -> list[Any] | dict[str, Any]:
    try:
        items = decode_batch(case["body"].encode(), case["max_items"])
    except ValidationError as exc:
        return refusal(exc)
    return [refusal(item) if isinstance(item, ValidationError) else "entry" for item in items]


def without_id(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with the entry's id (random per process) blanked, all else byte for byte."""
    if "payload" not in answer:
        return answer
    payload = ID.sub(b'"id":"<id>"', answer["payload"].encode()).decode()
    return {**answer, "payload": payload}


@pytest.fixture(scope="module")
def edge() -> dict[str, Any]:
    return probe(edge_cases())


def test_the_worker_derives_the_python_services_defaults_and_limits(edge: dict[str, Any]) -> None:
    """With no TRACESINK_* variable set, the Worker's limits, window, TTL, expiry slack, key
    prefix, sizes and systems are exactly what the Python service derives from its defaults."""
    settings = Settings()
    policy = policy_from(settings)
    rules = rules_from(settings)
    assert edge["settings"]["policy"] == {
        "globalLimit": policy.global_limit,
        "traceLimit": policy.trace_limit,
        "systemLimits": dict(policy.system_limits),
        "windowMs": policy.window_ms,
        "ttlMs": policy.ttl_ms,
        "slackMs": policy.expiry_slack_ms,
        "keyPrefix": policy.key_prefix,
        "sharedBudget": policy.shared_budget,
        "maxTraceEntries": policy.max_trace_entries,
    }
    assert edge["settings"]["rules"] == {
        "maxMessageBytes": rules.max_message_bytes,
        "maxContextBytes": rules.max_context_bytes,
        "maxContextDepth": rules.max_context_depth,
        "systems": sorted(rules.systems),
    }
    assert edge["settings"]["windowS"] == settings.window_s
    assert edge["settings"]["maxBodyBytes"] == settings.max_body_bytes
    assert edge["settings"]["maxBatchItems"] == settings.max_batch_items
    assert edge["settings"]["maxCommandsPerDay"] == settings.max_commands_per_day
    assert edge["settings"]["readReservePct"] == settings.read_reserve
    assert edge["settings"]["corsOrigins"] == list(settings.cors_origins)
    assert edge["settings"]["ingestKeys"] == list(settings.ingest_keys)


@pytest.mark.parametrize("index", range(len(BAD_VARIABLES)))
def test_a_bad_variable_is_refused_with_the_same_words(edge: dict[str, Any], index: int) -> None:
    """Each bad TRACESINK_* value is refused by both in the same words (a secret's value shown
    as **** by both)."""
    env = BAD_VARIABLES[index]
    with pytest.raises(ConfigurationError) as refused:
        load_settings(env)
    assert edge["env"][index] == str(refused.value)


@pytest.mark.parametrize("index", range(len(ENTRIES)))
def test_an_entry_is_stored_or_refused_alike(edge: dict[str, Any], index: int) -> None:
    """The same body gives the same stored JSON, byte for byte apart from its id (and the same
    system it is counted as), or the same message, field and status."""
    assert without_id(edge["entries"][index]) == without_id(python_entry(ENTRIES[index]))


@pytest.mark.parametrize("index", range(len(BATCHES)))
def test_a_batch_is_split_or_refused_alike(edge: dict[str, Any], index: int) -> None:
    """Empty, unreadable and too-long batches are refused with the same words; a bad item is
    named alike while its neighbours are kept."""
    assert edge["batches"][index] == python_batch(BATCHES[index])


PYTHON_PROBE = """
import json, sys
import tracesink
from tracesink.app.openapi_schemas import ENTRY
from tracesink.config import Settings
from tracesink.errors import ValidationError
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import decode_entry, prepare_entry
from tracesink.pipeline import rules_from
NOW_MS = int(sys.argv[1])
answers = {"package": tracesink.__file__, "entries": [], "schema": ENTRY["properties"]}
for body in json.loads(sys.stdin.read()):
    try:
        entry = prepare_entry(
            decode_entry(body.encode()), rules_from(Settings()), Sender({}), NOW_MS
        )
        answers["entries"].append({"payload": entry.payload.decode(), "system": entry.system})
    except ValidationError as exc:
        answers["entries"].append(
            {"error": exc.message, "field": exc.field, "status": exc.status}
        )
print(json.dumps(answers))
"""


def test_a_field_added_to_the_rules_file_alone_is_taken_by_both(tmp_path: Path) -> None:
    """A copy of the package and of the Worker whose rules file lists one more field (and which
    differ in nothing else, the Worker's copy regenerated) both check that field's type with
    the same words and store it as sent, after received_at, and /openapi.json lists it: a later
    field is one line there."""
    package = tmp_path / "tracesink"
    shutil.copytree(
        ROOT / "src" / "tracesink", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    rules = json.loads((package / "rules.json").read_text("utf-8"))
    rules["entry"]["fields"]["build"] = ["str", "null"]
    (package / "rules.json").write_text(json.dumps(rules, indent=2), "utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    edge_src = tmp_path / "edge" / "src"
    shutil.copytree(ROOT / "edge" / "src", edge_src)
    shutil.copy(ROOT / "edge" / "package.json", edge_src.parent)  # "type": "module"
    generated = subprocess.run(
        [sys.executable, "-m", "tracesink.edge_rules"], env=env, capture_output=True, text=True
    )
    (edge_src / "rules.js").write_text(generated.stdout, "utf-8")
    bodies = [
        json.dumps({"trace_id": "t", "message": "m", "build": "v1.2.3"}),
        json.dumps({"trace_id": "t", "message": "m", "build": 5}),
        json.dumps({"trace_id": "t", "message": "m", "build": None}),
    ]
    ran = subprocess.run(
        [sys.executable, "-c", PYTHON_PROBE, str(NOW_MS)],
        input=json.dumps(bodies),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    python = json.loads(ran.stdout)
    assert python["package"] == str(package / "__init__.py")  # the copy, not the checkout
    cases = {
        "env": [],
        "entries": [{"body": b, "headers": {}, "pinned": None} for b in bodies],
        "batches": [],
        "now_ms": NOW_MS,
    }
    worker = probe(cases, edge_src)["entries"]
    assert [without_id(a) for a in worker] == [without_id(a) for a in python["entries"]]
    stored = json.loads(python["entries"][0]["payload"])
    assert list(stored)[list(stored).index("received_at") + 1] == "build"
    assert stored["build"] == "v1.2.3"
    assert python["entries"][1] == {
        "error": "Expected `str | null`, got `int` - at `$.build`",
        "field": "build",
        "status": 400,
    }
    assert "build" not in json.loads(python["entries"][2]["payload"])
    assert python["schema"]["build"] == {"type": ["string", "null"]}  # /openapi.json says so
