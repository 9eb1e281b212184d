"""Which worker process of an instance this is, as ``serve --workers N`` tells each one.

The supervisor (server/workers.py) forks every worker with two variables set: its index, from
0 to N-1, which names its spool (``Settings.spool_path``) and its telemetry slot; and the
instance's shared folder, where every worker publishes its counters for ``/metrics`` and ``/stats``
(accounting/shared_telemetry.py). A worker restarted after a crash gets the same index, so it
finds what its predecessor left. Without them (one process, or an app built in a test) there is
no worker identity, and the app counts and spools as the single process it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

INDEX_ENV = "TRACESINK_WORKER_INDEX"
SHARED_DIR_ENV = "TRACESINK_WORKER_SHARED_DIR"


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    index: int  # 0 … N-1, kept across a restart
    shared_dir: Path  # this instance's folder of worker telemetry

    def environ(self) -> dict[str, str]:
        return {INDEX_ENV: str(self.index), SHARED_DIR_ENV: str(self.shared_dir)}

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> WorkerIdentity | None:
        index, shared_dir = environ.get(INDEX_ENV), environ.get(SHARED_DIR_ENV)
        if index is None or shared_dir is None:
            return None
        return cls(int(index), Path(shared_dir))
