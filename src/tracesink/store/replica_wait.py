"""The replica wait: a write batch is acknowledged only once N replicas have it (``WAIT``).

Redis replicates asynchronously: a batch the primary has stored and acknowledged may not have
reached any replica when the primary dies, and the replica promoted in its place never had it.
With ``TRACESINK_REDIS_WAIT_REPLICAS=N`` the Redis store sends ``WAIT N timeout`` right behind
each ``write_batch`` and ``replay_batch`` script call, on the same connection and in the same
round trip, and reads how many replicas confirmed.

When fewer than N confirm within the timeout, the batch IS on the primary, decided and counted,
but not known to be anywhere else. Neither plain answer is true then: 200 would promise what a
failover can take back, and a refusal (503) would make the client send again what the primary
already holds (a second copy on retry). So the batch is handed to the spool as it was decided
(``ReplicasBehind`` carries the decisions): its admitted entries are answered 202 *queued*, kept
on local disk (fsynced), and replayed under the same batch id. The replay is idempotent: the
write recorded its batch id with the entries, so if they survived, the replay stores nothing and
only confirms, by a ``PUBLISH`` and a ``WAIT`` on one connection, that the replicas have caught up
with everything the primary had written until then; if a failover lost them, it stores them. A
replay the replicas do not confirm stays in the spool and is tried again: an entry leaves the
spool only once N replicas hold it.

Only entry writes wait. Pins, imports and the daily command count are not waited for (an import
is re-run by hand, a pin is set again; the command count is an estimate anyway).
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field

import hiredis

from tracesink.errors import StorageError
from tracesink.limits import Decision

# A channel nobody needs to listen to. WAIT waits for the replication offset of the connection's
# last write, and which commands count as one differs between Redis versions; a PUBLISH is
# replicated on every version, so it moves that offset past every earlier write of the primary.
CONFIRM_CHANNEL = "tracesink:replicated"


@dataclass(frozen=True, slots=True)
class ReplicaWait:
    """Wait for ``replicas`` replicas (at least 1), at most ``timeout_ms`` per batch."""

    replicas: int
    timeout_ms: int
    # The flag or variable it was set with, for messages.
    setting: str = field(default="TRACESINK_REDIS_WAIT_REPLICAS", compare=False)

    def command(self) -> bytes:
        """``WAIT replicas timeout``, packed."""
        return _packed(("WAIT", self.replicas, self.timeout_ms))

    def confirm_command(self, key_prefix: str) -> bytes:
        """A replicated no-op (``PUBLISH``) and ``WAIT``: confirms every earlier write."""
        return _packed(("PUBLISH", key_prefix + CONFIRM_CHANNEL, "1")) + self.command()


def _packed(command: tuple[str | int, ...]) -> bytes:
    packed: bytes = hiredis.pack_command(command)  # type: ignore[arg-type]  # hiredis's stub types the tuple as one element
    return packed


class ReplicasBehind(StorageError):
    """The primary stored the batch, fewer than N replicas confirmed it in time.

    ``decisions`` are the primary's, one per entry of the batch: the spool keeps exactly what it
    admitted (nothing it refused), so that the idempotent replay has nothing to add."""

    def __init__(self, message: str, decisions: Sequence[Decision] = ()) -> None:
        super().__init__(message)
        self.decisions = list(decisions)


@dataclass(slots=True)
class Confirmations:
    """The fewest replicas that confirmed any script call of one ``write_batch`` or
    ``replay_batch`` (None: no call of it waited)."""

    fewest: int | None = None
    done: bool = False  # the batch has returned: a task it started must not wait any more

    def saw(self, replicas: int) -> None:
        self.fewest = replicas if self.fewest is None else min(self.fewest, replicas)


# Set by the store around one batch's call; read by its ``_run``. A context variable, not an
# attribute: the drop-marker timer and pins run script calls of their own concurrently.
WAITING: contextvars.ContextVar[Confirmations | None] = contextvars.ContextVar(
    "tracesink_replica_wait", default=None
)


def shortfall(wait: ReplicaWait, confirmed: int, doing: str, display: str) -> str:
    """The message of a ReplicasBehind."""
    return (
        f"{doing} on {display}: stored on the primary, but {confirmed} of the "
        f"{wait.replicas} replicas {wait.setting} asks for confirmed it within "
        f"{wait.timeout_ms} ms"
    )
