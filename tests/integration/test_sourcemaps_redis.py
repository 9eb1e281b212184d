"""Source maps through a real ``tracesink serve`` on a real Redis, with a request body cap
smaller than the map: ``tracesink sourcemaps upload`` sends it in chunks with the read token
(an ingest key is refused), and a trace read with ``resolve=1`` finds the original line in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.redis_server import RedisServer
from tests.support.service import serving

pytestmark = [pytest.mark.slow, pytest.mark.redis]

TOKEN = "t" * 32
KEY = "pk_test_key1"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def vlq(value: int) -> str:
    value = (-value << 1) | 1 if value < 0 else value << 1
    out = ""
    while True:
        digit, value = value & 31, value >> 5
        out += B64[digit | (32 if value else 0)]
        if not value:
            return out


def big_map(lines: int) -> bytes:
    """One generated line; every 10 columns a segment mapping to the next original line of
    ``src/big.js``, whose sourcesContent makes the map larger than a request may be."""
    segments = ["AAAA"] + [vlq(10) + "AC" + "A" for _ in range(lines - 1)]
    source = "\n".join(
        f"function step{i}() {{ return {i}; }} // {'x' * 1000}" for i in range(lines)
    )
    document = {
        "version": 3,
        "sources": ["src/big.js"],
        "sourcesContent": [source],
        "names": [],
        "mappings": ",".join(segments),
    }
    return json.dumps(document).encode()


def test_a_map_over_the_body_cap_uploads_in_chunks_and_resolves_on_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A 1.1 MB map against a 300 KB body cap: the CLI's chunks pass, the map resolves frame
    line 1 column 5011 to src/big.js line 502 with its source line; the upload routes take the
    read token only."""
    data = big_map(1000)
    assert len(data) > 1_000_000
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_text("/* the bundle */")
    (tmp_path / "assets" / "app.js.map").write_bytes(data)
    env = {
        "TRACESINK_STORE": redis_server.url,
        "TRACESINK_KEY_PREFIX": "sm-it:",
        "TRACESINK_READ_TOKEN": TOKEN,
        "TRACESINK_INGEST_KEYS": f"{KEY}=*",
        "TRACESINK_MAX_BODY_BYTES": "300000",
    }
    with serving(env) as sink:
        refused = httpx.put(
            f"{sink.url}/sourcemaps/big-1/{'a' * 32}/0",
            content=b"{}",
            headers={"x-tracesink-key": KEY},
        )
        assert refused.status_code == 401
        upload = subprocess.run(
            [sys.executable, "-m", "tracesink", "sourcemaps", "upload", str(tmp_path),
             "--release", "big-1", "--url", sink.url],
            capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "TRACESINK_READ_TOKEN": TOKEN, "TRACESINK_INGEST_KEY": KEY},
        )  # fmt: skip
        assert upload.returncode == 0, upload.stderr
        assert "uploaded 1 source map(s) for release big-1" in upload.stdout
        logged = httpx.post(
            f"{sink.url}/log",
            json={
                "trace_id": "big",
                "message": "x",
                "release": "big-1",
                "stack": "Error: x\n    at a (http://127.0.0.1:9/assets/app.js?v=2:1:5011)",
            },
            headers={"x-tracesink-key": KEY},
        )
        assert logged.status_code == 200, logged.text
        auth = {"authorization": f"Bearer {TOKEN}"}
        trace = httpx.get(f"{sink.url}/logs/big", params={"resolve": "1"}, headers=auth).json()
    frame = trace["entries"][0]["resolved"][1]
    assert frame["original"]["file"] == "src/big.js"
    assert frame["original"]["line"] == 502
    assert frame["original"]["context"].startswith("function step501()")
