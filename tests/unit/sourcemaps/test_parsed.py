"""The VLQ decoder and map lookups: hand-checked segments, refusals of what is no v3 map, and
every mapping of a real esbuild map agreeing with Mozilla's ``source-map`` (npm)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tracesink.sourcemaps.parsed import MapError, Original, ParsedMap, _decode_segment

ROOT = Path(__file__).parents[3]


def a_map(**fields: object) -> bytes:
    document = {"version": 3, "sources": ["a.js"], "names": ["foo"], "mappings": "", **fields}
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("segment", "values"),
    [("AAAA", [0, 0, 0, 0]), ("C", [1]), ("D", [-1]), ("gB", [16]), ("hB", [-16]), ("2H", [123])],
)
def test_vlq_segments_decode_as_the_spec_gives_them(segment: str, values: list[int]) -> None:
    """Base64 VLQ: 5 bits per digit, continuation bit 32, sign in the lowest bit."""
    assert _decode_segment(segment) == values


def test_a_position_maps_to_the_last_segment_at_or_before_it() -> None:
    """Line and column are 1-based (as stacks give them); fields are deltas, the column reset
    per generated line, the others carried on; the name and the source line come along."""
    parsed = ParsedMap(
        a_map(mappings="AAAA,IAAIA;AACA", sourcesContent=["let x = foo();\n  bar();\n"])
    )
    assert parsed.lookup(1, 1) == Original("a.js", 1, 1, None, "let x = foo();")
    assert parsed.lookup(1, 5) == Original("a.js", 1, 5, "foo", "let x = foo();")
    assert parsed.lookup(1, 99) == Original("a.js", 1, 5, "foo", "let x = foo();")
    assert parsed.lookup(2, 3) == Original("a.js", 2, 5, None, "  bar();")
    assert parsed.lookup(3, 1) is None  # no such generated line
    assert ParsedMap(a_map(mappings="EAAA")).lookup(1, 1) is None  # before the first segment


def test_without_sources_content_there_is_no_source_line() -> None:
    """A map without sourcesContent still gives file, line and column."""
    assert ParsedMap(a_map(mappings="AAAA")).lookup(1, 1) == Original("a.js", 1, 1, None, None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (json.dumps({"version": 2, "mappings": ""}).encode(), "not a version 3"),
        (json.dumps({"version": 3, "sections": []}).encode(), "index map"),
        (a_map(mappings="AA!A"), "not a base64 VLQ digit"),
        (a_map(mappings="g"), "inside a VLQ number"),
    ],
)
def test_what_is_no_readable_map_is_refused_with_the_reason(raw: bytes, reason: str) -> None:
    """A body that is no v3 map raises MapError saying why (the resolver shows it per frame)."""
    with pytest.raises(MapError, match=reason):
        ParsedMap(raw)


def test_every_mapping_of_an_esbuild_map_agrees_with_mozillas_source_map(tmp_path: Path) -> None:
    """For each generated position of a real minified bundle's map, the lookup gives what the
    reference implementation (source-map on npm) gives."""
    esbuild, source_map = ROOT / "node_modules/.bin/esbuild", ROOT / "node_modules/source-map"
    if not (esbuild.exists() and source_map.exists() and shutil.which("node")):
        if os.environ.get("CI"):
            pytest.fail("node, esbuild or source-map missing: npm ci")
        pytest.skip("node, esbuild or source-map missing (npm ci)")
    (tmp_path / "a.js").write_text(
        "export function add(a, b) { return a + b; }\n"
        "export function twice(f, x) {\n  return f(f(x, 1), 2);\n}\n"
    )
    (tmp_path / "main.js").write_text(
        'import { add, twice } from "./a.js";\nconsole.log(twice(add, 40));\n'
        "class Cart { total() { return [1, 2].map((n) => n * 2); } }\n"
        "window.cart = new Cart();\n"
    )
    subprocess.run(
        [str(esbuild), "main.js", "--bundle", "--minify", "--sourcemap", "--outfile=out.js"],
        cwd=tmp_path, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    script = (
        "const {SourceMapConsumer} = require(process.argv[1]);"
        "const raw = require('fs').readFileSync('out.js.map', 'utf8');"
        "Promise.resolve(new SourceMapConsumer(raw)).then((c) => { const out = [];"
        "c.eachMapping((m) => { const o = c.originalPositionFor({line: m.generatedLine,"
        " column: m.generatedColumn, bias: SourceMapConsumer.GREATEST_LOWER_BOUND});"
        " out.push([m.generatedLine, m.generatedColumn, o.source, o.line, o.column, o.name]); });"
        "console.log(JSON.stringify(out)); });"
    )
    reference = json.loads(
        subprocess.run(
            ["node", "-e", script, str(source_map)],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    )
    parsed = ParsedMap((tmp_path / "out.js.map").read_bytes())
    assert len(reference) > 20
    for line, column, source, orig_line, orig_column, name in reference:
        got = parsed.lookup(line, column + 1)
        assert got is not None
        # source-map resolves sources against the map's URL; the names, lines and columns agree.
        assert source.endswith(got.source.lstrip("./"))
        assert (got.line, got.column - 1, got.name) == (orig_line, orig_column, name)


def test_segments_out_of_column_order_are_looked_up_in_order() -> None:
    """A line whose segments are not sorted by generated column (allowed by the spec) still
    maps each column to the segment starting at or before it."""
    parsed = ParsedMap(a_map(mappings="IAAA,DAAC"))  # columns 4 then 3
    assert parsed.lookup(1, 4) == Original("a.js", 1, 2, None, None)
    assert parsed.lookup(1, 5) == Original("a.js", 1, 1, None, None)
    assert parsed.lookup(1, 3) is None
