"""What ``tracesink sourcemaps upload`` reads from a build before sending anything: chunks cut
between characters, and the build's debug ID, with a stale map refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracesink.errors import TraceSinkError
from tracesink.sourcemaps.record import CHUNK_BYTES
from tracesink.terminal.sourcemaps import chunks_of, debug_id_of

ID = "85314830-023f-4cf1-a267-535f4e37bb17"


def test_chunks_are_cut_between_utf8_characters() -> None:
    """No chunk is over CHUNK_BYTES, each decodes on its own, and together they are the map."""
    data = ("€" * (CHUNK_BYTES // 2)).encode()  # 3-byte characters across every cut
    pieces = chunks_of(data)
    assert all(len(p) <= CHUNK_BYTES for p in pieces)
    assert b"".join(pieces) == data
    for piece in pieces:
        piece.decode("utf-8")


def test_the_debug_id_comes_from_the_map_or_the_bundle() -> None:
    """A map's debugId, else the bundle's //# debugId= comment, else none."""
    path = Path("app.js.map")
    assert debug_id_of(path, f'{{"debugId": "{ID}"}}'.encode(), None) == ID
    bundle = f"x();\n//# debugId={ID}\n//# sourceMappingURL=app.js.map\n".encode()
    assert debug_id_of(path, b"{}", bundle) == ID
    assert debug_id_of(path, b"{}", b"x();") is None


def test_a_map_whose_debug_id_is_not_its_bundles_is_refused() -> None:
    """A stale map left in DIR by another build (its debugId differs from the bundle's) is
    refused before anything is sent, naming the file."""
    bundle = f"x();\n//# debugId={ID}\n".encode()
    other = b'{"debugId": "00000000-0000-4000-8000-000000000000"}'
    with pytest.raises(TraceSinkError, match=r"app\.js\.map: its debugId .* another build"):
        debug_id_of(Path("dist/app.js.map"), other, bundle)
