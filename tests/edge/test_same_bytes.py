"""The two ingesters' entry code, side by side on the same bodies (issue 22 item 2): the Python
service's ``validate.py`` and the edge Worker's ``entries.js`` (run in node) store the same bytes
for every body below, or refuse it with the same status, field and message.

The bodies are what the two used to disagree on (a byte order mark, lone surrogates, deep unknown
fields, ``{…},{…}`` on one NDJSON line, ISO 8601 forms, half milliseconds, big integers) and what
no reader could serve (out-of-range numbers), with their neighbours. The shared vectors
(tests/vectors/ingest.json) pin the same answers through both running services; this test covers
many more bodies than a vector file would hold, in one node process.
"""

from __future__ import annotations

import base64
import json
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tracesink.errors import ValidationError
from tracesink.ingest.sender import Sender
from tracesink.ingest.validate import EntryRules, decode_batch, decode_entry, prepare_entry

pytestmark = pytest.mark.usefixtures("node_ready")

NOW = 1_795_946_400_000
RULES = EntryRules(max_message_bytes=64, max_context_bytes=2000, max_context_depth=3)
SCRIPT = Path(__file__).with_name("prepare.mjs")
VARYING = re.compile(r'"id":"[0-9a-f]{28}"')
NOT_JSON = "body is not valid JSON: "
DEEP = b"[" * 300 + b"]" * 300


def entry(extra: bytes = b"", message: bytes = b'"m"') -> bytes:
    return b'{"trace_id":"t","message":' + message + extra + b"}"


BODIES: list[tuple[bytes, bool]] = [
    (b"\xef\xbb\xbf" + entry(), False),
    (b"\xef\xbb\xbf[" + entry() + b"]", True),
    (entry() + b"\n\xef\xbb\xbf" + entry(), True),
    (entry(message=rb'"x\ud800y"'), False),
    (entry(message=rb'"\udc00\ud83d\ude00\ud83d"'), False),
    (entry(message=rb'"\\ud800"'), False),
    (entry(rb',"context":{"a":"\uDBFF","\ud800":1}'), False),
    (entry(rb',"stack":"\ud800","user_id":"\udfff"'), False),
    (entry(b',"x":' + DEEP), False),
    (entry(b',"x":' + b"[" * 256 + b"]" * 256), False),
    (b"[" + entry() + b"," + entry(b',"x":' + DEEP) + b"]", True),
    (entry() + b"\n" + entry(b',"x":' + DEEP) + b"\n" + entry(), True),
    (entry() + b"," + entry() + b"\n" + entry(), True),
    (b"[" + entry() + b"," + entry(b',"context":{"a":' + DEEP + b"}") + b"]", True),
    (entry() + b"\n" + entry(b',"context":{"a":' + DEEP + b"}"), True),
    (b"[" + entry(b',"context":{"long":"' + b"x" * 600 + b'","n":[[1]]}') + b"]", True),
    (b"[" + entry(b',"x":{"y":' + b"[" * 255 + b"]" * 255 + b"}") + b"]", True),
    (b"[" + entry(b',"x":"' + b"[" * 300 + b'"') + b"]", True),
    (b"[" + entry(b',"x":"\\"' + b"[" * 300 + b'"') + b"]", True),
    (b'{"trace_id":"t",\n"message":"m"}', True),
    (b"\x0b" + entry() + b"\n \xc2\xa0\n" + entry() + b"\x0c", True),
    (entry(b',"user_id":123456789012345678901234'), False),
    (entry(b',"user_id":-0'), False),
    (entry(b',"user_id":' + b"9" * 400), False),
    (entry(b',"user_id":' + b"9" * 4301), False),
    (entry(b',"level":' + b"9" * 400), False),
    (entry(b',"level":-' + b"9" * 400), False),
    (entry(b',"level":-0'), False),
    (entry(b',"timestamp":1e400'), False),
    (entry(b',"timestamp":-1e400'), False),
    (entry(b',"timestamp":' + b"9" * 400), False),
    (entry(b',"timestamp":1715879172882.5'), False),
    (entry(b',"timestamp":1715879172.882'), False),
    (entry(b',"timestamp":-0'), False),
    (entry(b',"timestamp":1e-400'), False),
    (entry(b',"context":{"a":1e400}'), False),
    (entry(b',"context":{"a":[-1E+309]}'), False),
    (entry(b',"context":{"a":' + b"9" * 309 + b"}"), False),
    (entry(b',"context":{"a":' + b"9" * 308 + b"}"), False),
    (entry(b',"context":{"a":' + b"1" * 250 + b"e-100}"), False),
    (entry(b',"context":{"a":1e-400,"b":-0,"c":"1e400","d":123456789012345678901234}'), False),
    (entry(b',"context":{"a":"\xff"}'), False),
    (entry(b',"x":"\xff"'), False),
    (entry(b',"x":1e400'), False),
    (entry(b',"system":" Browser\\u001c"'), False),
    (entry(b',"system":"browser\\ufeff"'), False),
    (entry(message=b'"\\u0000\\u001f\\u007f\\u2028\\/<>&\\"\\\\\\b\\f\\n\\r\\t"'), False),
    (entry(message=b'"' + "é😀".encode() * 30 + b'"'), False),
    (entry(b',"user_id":"' + "😀".encode() * 200 + b'"'), False),
    (entry() + b"\x0c", False),
    (b"\x0b" + entry(), False),
    (b" \r\n\t" + entry() + b"\r\n ", False),
    (entry() + b"\x00", False),
    (entry() + b" \xc2\xa0", False),
    (b"", False),
    (b"   ", True),
    (b"[]", True),
    (b"[1,", True),
    (b'{"__proto__":{"message":1},"message":"m","trace_id":"t"}', False),
    (b'{"message":"a","message":"b","trace_id":"t"}', False),
    (b'{"message":"m","trace_id":"t","level":20.0}', False),
    (b'{"message":"m","trace_id":"t","level":2e1}', False),
    (b'{"message":"m","trace_id":"t","user_id":true}', False),
    (b'{"message":"m","x":"open' + b"[" * 300, False),
    (b'{"message":"m\\n","x":"open' + b"[" * 300, False),
    (b'{"message":"m","x":"open\\', False),
    (b'{"message":"m","x":"\\\n' + b"[" * 300 + b'"}', False),
    (b'{"message":"m","x":"\\\xe2\x80\xa8' + b"[" * 300 + b'"}', False),
    (
        b"["
        + b'{"message":"m"},' * 3
        + b'{"message":"m","x":"'
        + b"]" * 300
        + b'","y":'
        + DEEP
        + b"}]",
        True,
    ),
    (
        b"["
        + entry() * 0
        + b",".join([entry()] * 1001 + [entry(b',"context":{"a":' + DEEP + b"}")])
        + b"]",
        True,
    ),
    (b",".join([entry()] * 1001).replace(b"},{", b"}\n{"), True),
    (b"1e400", False),
    (b"9" * 400, False),
    (b"-0", False),
    (b'"\\ud800"', False),
    (b"null", False),
    (DEEP, False),
    (b"[1e400]", True),
    (b'["\\ud800", 1]', True),
    (entry(b',"user_id":"' + "😀".encode() * 257 + b'"'), False),
]
BODIES += [
    (entry(b',"level":' + json.dumps(level).encode()), False)
    for level in [
        "it's",
        "a\"b'c",
        "x\ny\t\\",
        "\u200b\x7f\x00é",
        "\U0001f600 \u00a0\u2028",
        "WARN",
    ]
]
BODIES += [
    (entry(b',"timestamp":"' + text.encode() + b'"'), False)
    for text in [
        "2024-W01-1",
        "2024W011",
        "2024-W01",
        "20240101T000000",
        "2024-01-01T00:00:00+05:30:15",
        "2024-01-01T00:00:00.1234567",
        "2024-05-16t17:06:12,8829999z",
        "2024-01-01 00",
        "2024-01-01x00:00",
        "2024-001",
        "2021-W53-1",
        "2024-01-01T24:00",
        "2024-01-01T00:00:00+24:00",
        "1969-12-31T23:59:59.999Z",
        "9999-12-31T23:59:59.999Z",
        "9999-W52-6",
        "0000-01-01",
    ]
]


def python_answer(body: bytes, batch: bool) -> Any:
    def prepared(item: Any) -> Any:
        if isinstance(item, ValidationError):
            return {"error": item.message, "field": item.field, "status": item.status}
        try:
            return prepare_entry(item, RULES, Sender({}), NOW).payload.decode()
        except ValidationError as exc:
            return {"error": exc.message, "field": exc.field, "status": exc.status}

    try:
        if not batch:
            return prepared(decode_entry(body))
        return [prepared(item) for item in decode_batch(body, 1000)]
    except ValidationError as exc:
        return {"error": exc.message, "field": exc.field, "status": exc.status}


def edge_answers(bodies: list[tuple[bytes, bool]]) -> list[Any]:
    request = [{"body": base64.b64encode(b).decode(), "batch": batch} for b, batch in bodies]
    done = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(request), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    answers: list[Any] = json.loads(done.stdout)
    return answers


def comparable(answer: Any) -> Any:
    """Ids are random per process, and a parser words its syntax error its own way (msgspec,
    V8): the rest must match byte for byte."""
    if isinstance(answer, str):
        return VARYING.sub('"id":"<id>"', answer)
    if isinstance(answer, list):
        return [comparable(item) for item in answer]
    if answer["error"].startswith(NOT_JSON):
        return {**answer, "error": NOT_JSON}
    return answer


def test_both_ingesters_store_the_same_bytes_or_refuse_alike() -> None:
    """Every body above: the same stored JSON text (ids aside) or the same 400, item by item."""
    edge = edge_answers(BODIES)
    problems = []
    for (body, batch), got in zip(BODIES, edge, strict=True):
        python, edge_answer = comparable(python_answer(body, batch)), comparable(got)
        if python != edge_answer:
            problems.append(f"{body[:80]!r}: python {python!r}, edge {edge_answer!r}")
    assert not problems, "\n".join(problems)


def test_random_timestamps_fall_in_the_same_millisecond() -> None:
    """Thousands of numbers and ISO 8601 texts near the edges of the grammar: same answer."""
    rng = random.Random(22)
    bodies = []
    for _ in range(1500):
        year = rng.randint(1, 9999)
        texts = [
            f"{year:04d}-W{rng.randint(0, 54):02d}-{rng.randint(1, 7)}",
            f"{year:04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}T{rng.randint(0, 24):02d}"
            f":{rng.randint(0, 60):02d}:{rng.randint(0, 60):02d}.{rng.randint(0, 10**7)}"
            + rng.choice(["Z", "+05:30", "-0800", "+23:59:59", ""]),
        ]
        numbers = [rng.uniform(0, 3e14), rng.uniform(0, 1e11), rng.randint(0, 3 * 10**14) + 0.5]
        bodies += [(entry(b',"timestamp":"' + t.encode() + b'"'), False) for t in texts]
        bodies += [(entry(b',"timestamp":' + repr(n).encode()), False) for n in numbers]
    edge = edge_answers(bodies)
    problems = [
        body.decode()
        for (body, batch), got in zip(bodies, edge, strict=True)
        if comparable(python_answer(body, batch)) != comparable(got)
    ]
    assert not problems, "\n".join(problems[:20])


# Random bodies built from the pieces the two runtimes read differently: escapes (lone
# surrogates, pairs, escaped quotes), brackets inside strings, numbers at every edge, duplicate
# and unknown fields, values of every type in every field, a stray byte or a BOM now and then.
_STRINGS = ["a", "é", "😀", "\\n", '\\"', "\\\\", "\\u0041", "\\ud800", "\\udc00", "\\ud83d\\ude00"]
_STRINGS += ["[", "{", "]", "}", " ", "\\u0000", "'", "\u2028", "\x7f"]
_NUMBERS = ["0", "-0", "20", "20.0", "2e1", "1e400", "-1e400", "1e-400", "1715879172882.5"]
_NUMBERS += ["1715879172.882", "-5", "253402300800000", "99999999999.9999", "18446744073709551616"]
_NUMBERS += ["9" * 24, "9" * 309, "9" * 4301]


def _random_value(rng: random.Random, depth: int = 0) -> str:
    pick = rng.random()
    if pick < 0.3:
        return '"' + "".join(rng.choice(_STRINGS) for _ in range(rng.randint(0, 6))) + '"'
    if pick < 0.55:
        return rng.choice(_NUMBERS)
    if pick < 0.65 or depth > 3:
        return rng.choice(["true", "false", "null"])
    if pick < 0.8:
        return "[" + ",".join(_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    members = [f"{_random_value(rng, 9)}:{_random_value(rng, depth + 1)}" for _ in range(3)]
    return "{" + ",".join(m for m in members if m.startswith('"')) + "}"


def _random_entry(rng: random.Random) -> str:
    members = ['"trace_id":"t"'] if rng.random() < 0.9 else []
    for name in ("message", "message", "level", "system", "context", "user_id", "stack"):
        if rng.random() < (0.6 if name == "message" else 0.25):
            members.append(f'"{name}":{_random_value(rng)}')
    for name in ("timestamp", "x"):
        if rng.random() < 0.25:
            members.append(f'"{name}":{_random_value(rng)}')
    rng.shuffle(members)
    return "{" + ",".join(members) + "}"


def _random_body(rng: random.Random) -> tuple[bytes, bool]:
    shape = rng.random()
    entries = [_random_entry(rng) for _ in range(rng.randint(1, 4))]
    if shape < 0.5:
        text, batch = entries[0], False
    else:
        text, batch = ("[" + ",".join(entries) + "]") if shape < 0.75 else "\n".join(entries), True
    body = text.encode()
    mutation = rng.random()
    if mutation < 0.05:
        body = b"\xef\xbb\xbf" + body
    elif mutation < 0.1:
        at = rng.randrange(len(body))
        body = body[:at] + bytes([rng.randrange(256)]) + body[at + 1 :]
    return body, batch


@pytest.mark.parametrize("seed", [1, 2])
def test_random_bodies_get_the_same_answer(seed: int) -> None:
    """2,000 random bodies per seed: the same stored bytes or the same refusal from both."""
    rng = random.Random(seed)
    bodies = [_random_body(rng) for _ in range(2000)]
    edge = edge_answers(bodies)
    problems = []
    for (body, batch), got in zip(bodies, edge, strict=True):
        python, edge_answer = comparable(python_answer(body, batch)), comparable(got)
        if python != edge_answer:
            problems.append(f"{body[:200]!r}: python {python!r}, edge {edge_answer!r}")
    assert not problems, "\n".join(problems[:10])
