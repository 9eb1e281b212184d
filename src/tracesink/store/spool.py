"""The on-disk spool: where acknowledged batches wait while the store is unreachable.

SQLite in WAL mode with ``synchronous=FULL``: every append is one transaction, fsynced before the
client is answered, and a torn last write is rolled back by SQLite's own recovery rather than
read as garbage. A well-kept library beats a hand-rolled checksummed log here: the spool is off
the hot path (it is only written during an outage), so its cost does not matter, its correctness
does.

Batches are replayed oldest first and removed one by one once the store has them; each carries
the id the store uses to make a replay idempotent, so a crash between "stored" and "removed"
replays a batch the store then recognises and skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from tracesink.errors import ConfigurationError, SpoolFull, StorageError
from tracesink.model import PreparedEntry

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id   TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    entries    BLOB    NOT NULL,
    n          INTEGER NOT NULL
)
"""


_OWNER_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


SPOOL_SUFFIXES = ("", "-wal", "-shm")  # the database and the two files SQLite keeps beside it


def _make_private(path: Path, created_directory: bool) -> None:
    """The spool's files readable by this user only (0600), and its folder (0700).

    The spool holds acknowledged entries, logs and all, while the store is away: created with
    the default umask they were 0644 in a 0755 folder, readable by every user of the machine.
    SQLite gives its ``-wal`` and ``-shm`` files the database file's mode, so the database is
    created 0600 before SQLite opens it, and files an older version left are set to 0600.
    The folder is set to 0700 when this instance created it or it holds nothing but a spool
    (the default place, a dedicated ``TRACESINK_SPOOL_DIR``); a folder holding anything else
    (``/tmp``, a home directory) keeps its mode: it is not ours to change, and the files in it
    are private anyway.
    """
    folder = path.parent
    spool_names = {path.name + suffix for suffix in SPOOL_SUFFIXES}
    if created_directory or {entry.name for entry in folder.iterdir()} <= spool_names:
        _restrict(folder, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))  # an empty file is an empty database
    for name in spool_names:
        _restrict(folder / name, 0o600)


def _restrict(path: Path, mode: int) -> None:
    """``path`` at ``mode`` when it grants more (a folder or file another user owns is left)."""
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if path.stat().st_mode & 0o777 & ~mode:
            path.chmod(mode)


class SpoolOfAnotherStore(ConfigurationError):
    """The spool holds batches written for another store: they must never be replayed here."""


@dataclass(frozen=True, slots=True)
class SpooledBatch:
    seq: int
    batch_id: str
    created_ms: int
    entries: list[PreparedEntry]


class Spool:
    """An append-only queue of batches on disk; all SQLite work runs on one worker thread.

    ``owner`` names the store the batches are for (its masked repr): a spool holding batches for
    another store is refused at open, never replayed into this one."""

    def __init__(self, directory: Path, max_bytes: int, owner: str = "") -> None:
        self.path = directory / "spool.sqlite3"
        self.owner = owner
        self._created_directory = False
        self._max_bytes = max_bytes
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracesink-spool")
        self._db: sqlite3.Connection | None = None
        self.entries = 0  # entries waiting, kept in memory so /health needs no disk read
        self.bytes = 0

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, *args)

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        self._created_directory = not self.path.parent.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _make_private(self.path, self._created_directory)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(_SCHEMA)
        db.execute(_OWNER_SCHEMA)
        self.entries, self.bytes = db.execute(
            "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(LENGTH(entries)), 0) FROM batches"
        ).fetchone()
        row = db.execute("SELECT value FROM meta WHERE key = 'store'").fetchone()
        if self.entries and row is not None and row[0] != self.owner:
            db.close()
            raise SpoolOfAnotherStore(
                f"the spool at {self.path.parent} holds {self.entries} entries for {row[0]}, "
                f"not for {self.owner}: start with that store to replay them, or move the spool "
                "away (TRACESINK_SPOOL_DIR)"
            )
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('store', ?)", (self.owner,))
        self._db = db

    async def append(
        self, batch_id: str, created_ms: int, entries: Sequence[PreparedEntry]
    ) -> None:
        """Store a batch durably (fsynced) or raise SpoolFull / StorageError; nothing half-done."""
        blob = msgspec.msgpack.encode([(e.id, e.trace_id, e.system, e.payload) for e in entries])
        if self.bytes + len(blob) > self._max_bytes:
            raise SpoolFull(
                f"the spool is full ({self.bytes} of {self._max_bytes} bytes, "
                "TRACESINK_SPOOL_MAX_BYTES) while the store is unreachable"
            )
        await self._run(self._append, batch_id, created_ms, blob, len(entries))
        self.entries += len(entries)
        self.bytes += len(blob)

    def _append(self, batch_id: str, created_ms: int, blob: bytes, n: int) -> None:
        try:
            self._connection().execute(
                "INSERT INTO batches (batch_id, created_ms, entries, n) VALUES (?, ?, ?, ?)",
                (batch_id, created_ms, blob, n),
            )
        except sqlite3.Error as exc:  # disk full, read-only disk, …: the batch is not spooled
            raise StorageError(f"the spool cannot be written: {exc}") from exc

    async def oldest(self) -> SpooledBatch | None:
        row = await self._run(self._oldest)
        if row is None:
            return None
        seq, batch_id, created_ms, blob = row
        entries = [PreparedEntry(*fields) for fields in msgspec.msgpack.decode(blob)]
        return SpooledBatch(seq, batch_id, created_ms, entries)

    def _oldest(self) -> tuple[int, str, int, bytes] | None:
        row: tuple[int, str, int, bytes] | None = (
            self._connection()
            .execute("SELECT seq, batch_id, created_ms, entries FROM batches ORDER BY seq LIMIT 1")
            .fetchone()
        )
        return row

    async def remove(self, batch: SpooledBatch) -> None:
        size = await self._run(self._remove, batch.seq)
        self.entries -= len(batch.entries)
        self.bytes -= size

    def _remove(self, seq: int) -> int:
        db = self._connection()
        (size,) = db.execute("SELECT LENGTH(entries) FROM batches WHERE seq = ?", (seq,)).fetchone()
        db.execute("DELETE FROM batches WHERE seq = ?", (seq,))
        if db.execute("SELECT 1 FROM batches LIMIT 1").fetchone() is None:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # an empty spool leaves no big WAL behind
        return int(size)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageError("the spool is not open")
        return self._db

    async def close(self) -> None:
        """Close the database; an empty spool is removed, so nothing is left behind."""
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
            if self.entries == 0:
                for suffix in ("", "-wal", "-shm"):
                    self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
                if self._created_directory:  # and no empty folder either, unless it was given
                    with contextlib.suppress(OSError):
                        self.path.parent.rmdir()
        self._thread.shutdown(wait=True)
