"""Export and import across real processes: a trace read from instance A (memory://) as NDJSON,
imported into instance B (Redis) with `tracesink export` and `tracesink import`, reads the same
there: ids, times, systems, drop and trimmed markers. The import is not ingest: the read token
only, never counted by the rate limits, bounded, every item validated."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.support.redis_server import redis_server_binary, running_redis_server
from tests.support.service import Service, serving

pytestmark = pytest.mark.slow
TOKEN_A = "export-test-token-a-0123"  # noqa: S105  # test credentials, not secrets
TOKEN_B = "export-test-token-b-4567"  # noqa: S105
INGEST_KEY = "pk_export_test"
B_GLOBAL_LIMIT = 5


@pytest.fixture(scope="module")
def a() -> Iterator[Service]:
    """Memory; a trace limit of 12 and a cap of 10 items: a trace of 15 sent entries holds a
    trimmed marker, entries and a drop marker."""
    env = {
        "TRACESINK_READ_TOKEN": TOKEN_A,
        "TRACESINK_TRACE_LIMIT": "12",
        "TRACESINK_MAX_TRACE_ENTRIES": "10",
    }
    with serving(env) as service:
        yield service


@pytest.fixture(scope="module")
def b() -> Iterator[Service]:
    """Redis; a global limit of 5 (an import of more must still pass, and leave room)."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")
    env = {
        "TRACESINK_READ_TOKEN": TOKEN_B,
        "TRACESINK_GLOBAL_LIMIT": str(B_GLOBAL_LIMIT),
        "TRACESINK_INGEST_KEYS": f"{INGEST_KEY}=*",
        "TRACESINK_MAX_BODY_BYTES": "4096",  # the import cap: 16 x this
    }
    with running_redis_server() as redis, serving({"TRACESINK_STORE": redis.url, **env}) as svc:
        yield svc


def client(service: Service, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=service.url, headers={"authorization": f"Bearer {token}"}, timeout=30
    )


def cli(
    service: Service, token: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESINK_")}
    env.update(TRACESINK_URL=service.url, TRACESINK_READ_TOKEN=token, NO_COLOR="1")
    return subprocess.run(  # our own command
        [sys.executable, "-m", "tracesink", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def story(a: Service) -> str:
    """Trace `story` on A: 15 entries from three systems, one with context and stack."""
    entries: list[dict[str, Any]] = [
        {
            "trace_id": "story",
            "message": f"step {i} | <b>*{i}*</b>",
            "level": ("info", "warn", "error")[i % 3],
            "system": ("browser", "worker", "convex")[i % 3],
            "timestamp": f"2026-12-06T10:00:{i:02d}.250Z",
        }
        for i in range(15)
    ]
    entries[10]["context"] = {"order": 42, "items": ["a", "b"]}
    entries[10]["stack"] = "Error: declined\n    at pay (pay.js:1:1)"
    with client(a, TOKEN_A) as http:
        answer = http.post("/logs", json=entries).json()
    assert answer["accepted"] == 12, answer
    return "story"


def same_story(x: dict[str, Any], y: dict[str, Any]) -> None:
    assert x["entries"] == y["entries"]
    for name in ("count", "total", "last_id", "dropped", "trimmed"):
        assert x[name] == y[name], name


def test_a_trace_exported_from_a_reads_the_same_imported_into_b(
    a: Service, b: Service, story: str, tmp_path: Path
) -> None:
    """`tracesink export` (NDJSON by default) from A, `tracesink import` into B under the same
    id: B's GET /logs answer equals A's, markers (trimmed and dropped) in place."""
    file = tmp_path / "story.ndjson"
    done = cli(a, TOKEN_A, "export", story, "-o", str(file))
    assert done.returncode == 0, done.stderr
    lines = [msgspec.json.decode(line) for line in file.read_bytes().splitlines()]
    kinds = [line.get("kind") for line in lines]
    assert kinds[0] == "trimmed"
    assert kinds[-1] == "dropped"
    assert kinds.count(None) == 8
    done = cli(b, TOKEN_B, "import", str(file))
    assert done.returncode == 0, done.stderr
    assert "imported 8 entries and 2 markers into trace story" in done.stdout
    with client(a, TOKEN_A) as on_a, client(b, TOKEN_B) as on_b:
        there = on_b.get(f"/logs/{story}").json()
        same_story(on_a.get(f"/logs/{story}").json(), there)
        systems = {e["system"] for e in there["entries"] if "kind" not in e}
        assert systems == {"browser", "worker", "convex"}
        # Listed there like any trace.
        assert story in [t["trace_id"] for t in on_b.get("/traces").json()["traces"]]


def test_both_orders_read_the_same_after_an_import(a: Service, b: Service) -> None:
    """Entries stamped out of order: the export keeps the order they were stored in, so B
    reads them the same by event time (the default) and by arrival."""
    stamps = ["10:00:05", "10:00:01", "10:00:03"]
    sent = [
        {"trace_id": "skewed", "message": f"at {t}", "timestamp": f"2026-12-06T{t}.000Z"}
        for t in stamps
    ]
    with client(a, TOKEN_A) as on_a, client(b, TOKEN_B) as on_b:
        assert on_a.post("/logs", json=sent).json()["accepted"] == 3
        export = on_a.get("/logs/skewed", params={"format": "ndjson"}).content
        assert on_b.put("/logs/skewed", content=export).status_code == 200
        for order in ("event", "arrival"):
            there = on_b.get("/logs/skewed", params={"order": order}).json()
            here = on_a.get("/logs/skewed", params={"order": order}).json()
            assert [e["message"] for e in there["entries"]] == [
                e["message"] for e in here["entries"]
            ]
        arrival = on_b.get("/logs/skewed", params={"order": "arrival"}).json()
        assert [e["message"] for e in arrival["entries"]] == [f"at {t}" for t in stamps]


def test_the_json_answer_imports_too_and_an_existing_trace_needs_replace(
    a: Service, b: Service, story: str, tmp_path: Path
) -> None:
    """`--format json` round-trips as well (markers' ISO times back to ms); importing onto a
    trace that exists is refused (409, named) unless --replace; --trace picks another id."""
    file = tmp_path / "story.json"
    assert cli(a, TOKEN_A, "export", story, "--format", "json", "-o", str(file)).returncode == 0
    done = cli(b, TOKEN_B, "import", str(file), "--trace", "story-json")
    assert done.returncode == 0, done.stderr
    again = cli(b, TOKEN_B, "import", str(file), "--trace", "story-json")
    assert again.returncode == 1
    assert "409" in again.stderr
    assert "--replace" in again.stderr
    assert (
        cli(b, TOKEN_B, "import", str(file), "--trace", "story-json", "--replace").returncode == 0
    )
    with client(a, TOKEN_A) as on_a, client(b, TOKEN_B) as on_b:
        original = on_a.get(f"/logs/{story}").json()
        copy = on_b.get("/logs/story-json").json()
    assert [e.get("id") for e in copy["entries"]] == [e.get("id") for e in original["entries"]]
    assert {e["trace_id"] for e in copy["entries"] if "kind" not in e} == {"story-json"}
    assert copy["dropped"] == original["dropped"]
    assert copy["trimmed"] == original["trimmed"]


def test_export_to_stdout_and_import_from_stdin(a: Service, b: Service, story: str) -> None:
    """Without -o the export goes to stdout (a pipe); `import -` reads stdin; --format md is the
    report, which an import refuses (400 naming the body) rather than storing anything."""
    exported = cli(a, TOKEN_A, "export", story)
    assert exported.returncode == 0, exported.stderr
    done = cli(b, TOKEN_B, "import", "-", "--trace", "story-piped", stdin=exported.stdout)
    assert done.returncode == 0, done.stderr
    with client(a, TOKEN_A) as on_a, client(b, TOKEN_B) as on_b:
        assert [e.get("id") for e in on_b.get("/logs/story-piped").json()["entries"]] == [
            e.get("id") for e in on_a.get(f"/logs/{story}").json()["entries"]
        ]
    report = cli(a, TOKEN_A, "export", story, "--format", "md")
    assert report.stdout.startswith("# Trace story\n")
    refused = cli(b, TOKEN_B, "import", "-", "--trace", "story-md", stdin=report.stdout)
    assert refused.returncode == 1
    assert "400" in refused.stderr
    assert "Markdown report" in refused.stderr


def test_formats_by_accept_and_by_query(a: Service, story: str) -> None:
    """NDJSON and Markdown by Accept or ?format (which wins); an unknown format is a 400 and
    an Accept of nothing served a 406, each naming it; Markdown escapes hostile text."""
    with client(a, TOKEN_A) as http:
        by_accept = http.get(f"/logs/{story}", headers={"accept": "application/x-ndjson"})
        assert by_accept.headers["content-type"] == "application/x-ndjson"
        assert by_accept.content == http.get(f"/logs/{story}?format=ndjson").content
        markdown = http.get(f"/logs/{story}", headers={"accept": "text/markdown"})
        assert markdown.headers["content-type"].startswith("text/markdown")
        assert markdown.text == http.get(f"/logs/{story}?format=md").text
        text = markdown.text
        assert text.startswith("# Trace story\n")
        assert "&lt;b&gt;\\*11\\*&lt;/b&gt;" in text
        assert "<b>" not in text
        assert "step 11 \\| " in text  # a | in a message cannot split the table's row
        assert "```json" in text
        assert "at pay (pay.js:1:1)" in text
        assert "**First error:**" in text
        assert "dropped" in text
        wins = http.get(f"/logs/{story}?format=json", headers={"accept": "text/markdown"})
        assert wins.headers["content-type"] == "application/json"
        bad = http.get(f"/logs/{story}?format=xml")
        assert (bad.status_code, bad.json()["field"]) == (400, "format")
        assert "xml" in bad.json()["error"]
        refused = http.get(f"/logs/{story}", headers={"accept": "text/csv"})
        assert (refused.status_code, refused.json()["field"]) == (406, "Accept")
        assert "text/csv" in refused.json()["error"]


def entry_line(trace_id: str, **fields: Any) -> bytes:
    item = {
        "id": "01a24cc7859acf9f5a0700000000",
        "trace_id": trace_id,
        "system": "browser",
        "level": "info",
        "message": "hello",
        "timestamp": "2026-12-06T10:00:00.000Z",
        "received_at": "2026-12-06T10:00:00.000Z",
        **fields,
    }
    return msgspec.json.encode(item) + b"\n"


def test_an_import_needs_the_read_token_never_an_ingest_key(b: Service) -> None:
    """No token: 401; an ingest key alone: 401 (import is not ingest); the token: 200."""
    body = entry_line("guarded")
    plain = httpx.put(f"{b.url}/logs/guarded", content=body, timeout=30)
    assert (plain.status_code, plain.json()["field"]) == (401, "Authorization")
    keyed = httpx.put(
        f"{b.url}/logs/guarded", content=body, headers={"x-tracesink-key": INGEST_KEY}, timeout=30
    )
    assert keyed.status_code == 401
    with client(b, TOKEN_B) as http:
        assert http.put("/logs/guarded", content=body).status_code == 200


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"level": "loud"}, "level", "level must be one of"),
        ({"system": "Not A System"}, "system", "system"),
        ({"context": {"deep": [[[[[[[[[[1]]]]]]]]]]}}, "context", "deeper than"),
        ({"context": {"big": "x" * 20_000}}, "context", "larger than"),
        ({"message": "m" * 20_000}, "message", "longer than"),
        ({"id": "not-an-id"}, "id", "entry id"),
        ({"timestamp": "yesterday"}, "timestamp", "timestamp"),
        ({"kind": "pinned"}, "kind", "kind must be"),
    ],
)
def test_an_invalid_item_refuses_the_whole_import(
    b: Service, fields: dict[str, Any], field: str, words: str
) -> None:
    """What ingest could not store, import cannot either: a 400 naming the item and field,
    and nothing of the import is stored."""
    body = entry_line("invalid", id="01a24cc7859acf9f5a0700000001") + entry_line(
        "invalid", **fields
    )
    with client(b, TOKEN_B) as http:
        refused = http.put("/logs/invalid", content=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["field"] == field
        assert refused.json()["error"].startswith("item 2: ")
        assert words in refused.json()["error"]
        assert http.get("/logs/invalid").status_code == 404


def test_an_import_too_large_is_refused_by_size_and_by_count(b: Service) -> None:
    """A body past 16 x TRACESINK_MAX_BODY_BYTES is a 413 naming the cap; more items than a
    trace keeps (TRACESINK_MAX_TRACE_ENTRIES) a 413 naming that."""
    with client(b, TOKEN_B) as http:
        huge = http.put("/logs/huge", content=b"x" * (16 * 4096 + 1))
        assert huge.status_code == 413
        assert "TRACESINK_MAX_BODY_BYTES" in huge.json()["error"]
        # Counted before any item is decoded: 1,001 lines of anything.
        counted = http.put("/logs/many", content=b"{}\n" * 1001)
        assert counted.status_code == 413
        assert "TRACESINK_MAX_TRACE_ENTRIES" in counted.json()["error"]


def test_an_import_is_not_counted_by_the_rate_limits_but_its_commands_are(b: Service) -> None:
    """Eight entries imported where the global limit is five: ingest still admits five after
    it, no entry counts as accepted, and the store commands it spent show in /stats."""
    body = b"".join(
        entry_line("unlimited", id=f"01a24cc7859acf9f5a08{i:08x}", message=f"m{i}")
        for i in range(8)
    )
    with client(b, TOKEN_B) as http:
        before = http.get("/stats").json()
        assert http.put("/logs/unlimited", content=body).status_code == 200
        after = http.get("/stats").json()
        assert after["entries"]["accepted"] == before["entries"]["accepted"]
        # EVALSHA + EXISTS, LPUSH, PEXPIRE + the index's HSET and PEXPIRE.
        assert after["usage"]["commands"] - before["usage"]["commands"] >= 6
        sent = [{"trace_id": "after-import", "message": f"s{i}"} for i in range(B_GLOBAL_LIMIT)]
        assert (
            http.post("/logs", json=sent, headers={"x-tracesink-key": INGEST_KEY}).json()[
                "accepted"
            ]
            == B_GLOBAL_LIMIT
        )
        assert http.get("/logs/unlimited").json()["total"] == 8
