"""``tracesink serve --workers N``: N forked worker processes on one port, kept running.

The parent reaches the store, takes the port and prints the banner once; then it forks the
workers, each listening on a socket of its own on that port (``SO_REUSEPORT``: listener.py says
why, with the measurement) and running uvicorn on it. Forking our own rather than using
uvicorn's supervisor (``uvicorn.supervisors.Multiprocess``, 0.55 here), which restarts dead
workers and passes SIGTERM on too, because its workers are anonymous: a restarted one cannot
know which spool and which counters its predecessor left (each worker has its own, see
worker_identity.py); it logs its restarts at a level below the ``warning`` tracesink runs uvicorn
at; it spawns (each worker imports everything again); and its behaviour changed within the
versions pyproject.toml allows (>=0.30).

The loop here is short: fork each worker with its index, wait, and when one exits unasked start
it again in the same slot (one line on stderr says so), after a pause if it died within a second
of starting, so that a worker failing at once cannot spin. A worker that exits with uvicorn's
start-up failure status (its app refused to start: a spool of another store, say) would fail the
same way again: the instance stops instead. SIGTERM or SIGINT to the parent is passed to every
worker; each drains as a single process does (stops accepting, answers its requests in flight,
flushes its writer and closes its spool), and the parent exits 0 once every worker has exited 0.
A worker whose parent was killed (SIGKILL leaves no time to pass anything on) drains itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable

STARTUP_FAILURE = 3  # uvicorn's exit status for an app that refused to start
MIN_UPTIME_S = 1.0  # a worker that dies sooner is started again only after RESTART_PAUSE_S
RESTART_PAUSE_S = 1.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
PARENT_CHECK_S = 0.5  # how often a worker checks that its supervisor still runs


class Supervisor:
    """Runs ``run_worker(index)`` in ``count`` forked processes until told to stop."""

    def __init__(self, count: int, run_worker: Callable[[int], int]) -> None:
        self._count = count
        self._run_worker = run_worker
        self._slots: dict[int, int] = {}  # pid → worker index
        self._started_at: dict[int, float] = {}  # worker index → when its process started
        self._stopping = False
        self._failed = False

    def run(self) -> int:
        """Start the workers and keep them running; 0 once all have drained after SIGTERM."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._stop)
        for index in range(self._count):
            self._start(index)
        while self._slots:
            try:
                pid, status = os.wait()  # resumed after a signal's handler (PEP 475)
            except ChildProcessError:  # pragma: no cover - every child is in _slots
                break
            if pid in self._slots:
                self._exited(self._slots.pop(pid), pid, os.waitstatus_to_exitcode(status))
        return 1 if self._failed else 0

    def _exited(self, index: int, pid: int, code: int) -> None:
        if self._stopping:
            if code != 0:
                self._failed = True
                _say(f"worker {index} (pid {pid}) {_how(code)} while stopping")
            return
        if code == STARTUP_FAILURE:
            _say(f"worker {index} (pid {pid}) could not start; stopping the instance")
            self._failed = True
            self._stop(signal.SIGTERM, None)
            return
        _say(f"worker {index} (pid {pid}) {_how(code)}; starting it again")
        if time.monotonic() - self._started_at[index] < MIN_UPTIME_S:
            time.sleep(RESTART_PAUSE_S)
        if not self._stopping:  # a SIGTERM during the pause stops it instead
            self._start(index)

    def _start(self, index: int) -> None:
        # Stop signals are held while forking: one arriving in between would otherwise find
        # the new worker not yet in _slots, and never reach it.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:  # the worker: never returns into the supervisor's loop
                for signum in STOP_SIGNALS:
                    signal.signal(signum, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
                os._exit(self._worker(index))
            self._slots[pid] = index
            self._started_at[index] = time.monotonic()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def _worker(self, index: int) -> int:
        code = 1
        parent = os.getppid()
        threading.Thread(target=_drain_when_orphaned, args=(parent,), daemon=True).start()
        try:
            code = self._run_worker(index)
        except SystemExit as exc:  # uvicorn's start-up failure, or a drained SIGTERM (0)
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # a worker's last word, whatever killed it
            traceback.print_exc()
        finally:
            # os._exit skips the interpreter's clean-up: flush what the worker wrote.
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
        return code

    def _stop(self, signum: int, frame: object) -> None:
        self._stopping = True
        for pid in self._slots:
            with contextlib.suppress(ProcessLookupError):  # exited, not reaped yet
                os.kill(pid, signal.SIGTERM)


def _drain_when_orphaned(parent: int) -> None:
    """A worker whose supervisor died (SIGKILL, OOM) drains and exits, as on SIGTERM: left
    running, unsupervised workers would hold the port, so no new instance could start."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os.kill(os.getpid(), signal.SIGTERM)


def _how(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _say(line: str) -> None:
    print(f"tracesink: {line}", file=sys.stderr, flush=True)
