"""Maps deployed beside the service: ``TRACESINK_SOURCEMAPS_DIR/<release>/<path>.map``.

Read-only: ``<dir>/<release>/assets/app.js.map`` maps the bundle ``~/assets/app.js`` (any host).
Nothing in the folder is served over HTTP; a release never names a path outside it
(``check_release`` refuses ``..`` and separators, and the resolved path must stay inside).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tracesink.sourcemaps.record import CHUNK_BYTES, MapRecord

MAX_FILES = 1000  # a release folder's maps listed at most


class FolderMaps:
    def __init__(self, root: str) -> None:
        self._root = Path(root).resolve()

    def _folder(self, release: str) -> Path | None:
        folder = (self._root / release).resolve()
        return folder if folder.is_dir() and folder.is_relative_to(self._root) else None

    async def index(self, release: str) -> dict[str, MapRecord]:
        return await asyncio.to_thread(self._index, release)

    def _index(self, release: str) -> dict[str, MapRecord]:
        folder = self._folder(release)
        if folder is None:
            return {}
        found: dict[str, MapRecord] = {}
        for path in sorted(folder.rglob("*.map"))[:MAX_FILES]:
            stat = path.stat()
            name = "~/" + path.relative_to(folder).as_posix().removesuffix(".map")
            # The id only names a cache entry: a changed file (size, mtime) is parsed afresh.
            map_id = f"{stat.st_mtime_ns:x}{stat.st_size:x}".rjust(16, "0")
            chunks = -(-stat.st_size // CHUNK_BYTES)
            found[name] = MapRecord(name, map_id, chunks, stat.st_size)
        return found

    async def body(self, release: str, record: MapRecord) -> bytes | None:
        folder = self._folder(release)
        if folder is None:
            return None
        path = (folder / (record.file.removeprefix("~/") + ".map")).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            return None
        return await asyncio.to_thread(path.read_bytes)
