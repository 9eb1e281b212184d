"""`--workers` / TRACESINK_WORKERS: parsed, refused where the workers would split, and each
worker's own spool folder."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from tracesink.config import Settings, load_settings
from tracesink.errors import ConfigurationError

REDIS = {"TRACESINK_STORE": "redis://localhost:6379/0"}


def test_workers_default_to_one_and_auto_is_the_usable_cores() -> None:
    """Unset: one process. `auto`: as many as the cores this process may run on (its affinity,
    which taskset, a container or systemd's CPUAffinity= narrow), not the machine's count."""
    assert load_settings({}).workers == 1
    assert load_settings({**REDIS, "TRACESINK_WORKERS": "3"}).workers == 3
    auto = load_settings({**REDIS, "TRACESINK_WORKERS": "auto"}).workers
    assert auto == len(os.sched_getaffinity(0))
    assert load_settings(REDIS, {"workers": "AUTO"}).workers == auto


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5", ""])
def test_a_bad_worker_count_names_the_setting(raw: str) -> None:
    """Not a whole number of at least 1 nor `auto`: refused, naming the variable or the flag."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({**REDIS, "TRACESINK_WORKERS": raw})
    assert "TRACESINK_WORKERS" in str(caught.value)
    assert "or auto" in str(caught.value)
    with pytest.raises(ConfigurationError, match="--workers"):
        load_settings(REDIS, {"workers": raw})


def test_several_workers_on_a_memory_store_are_refused_saying_why() -> None:
    """memory:// with 2 workers: each would have its own store; the message says so and names
    the alternative. One worker on memory:// stays the default."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"TRACESINK_WORKERS": "2"})
    message = str(caught.value)
    assert message.startswith("TRACESINK_WORKERS=2 with TRACESINK_STORE=memory://")
    assert "limits, the reads and the live streams would split" in message
    assert "TRACESINK_STORE=redis://" in message
    assert "tracesink dev" in message
    assert load_settings({"TRACESINK_WORKERS": "1"}).workers == 1


def test_several_workers_without_the_live_poll_are_refused() -> None:
    """With the live poll off, a live stream would show one worker's entries: refused."""
    with pytest.raises(ConfigurationError, match="TRACESINK_LIVE_POLL_S=0"):
        load_settings({**REDIS, "TRACESINK_WORKERS": "2", "TRACESINK_LIVE_POLL_S": "0"})
    assert load_settings({**REDIS, "TRACESINK_LIVE_POLL_S": "0"}).live_poll_s == 0


def test_the_variables_set_for_each_worker_are_not_unknown_settings() -> None:
    """The supervisor's own variables pass the unknown-setting check in every worker."""
    environ = {**REDIS, "TRACESINK_WORKER_INDEX": "1", "TRACESINK_WORKER_SHARED_DIR": "shared"}
    assert load_settings(environ).workers == 1


def test_each_worker_spools_in_a_folder_of_its_own(tmp_path: Path) -> None:
    """Worker 0 keeps the spool folder a single process always had (its spool survives a switch
    to workers and back); worker N spools in worker-N inside it; off stays off for all."""
    settings = replace(Settings(), store="redis://localhost:6379/0", spool_dir=str(tmp_path))
    assert settings.spool_path() == settings.spool_path(0) == tmp_path
    assert settings.spool_path(3) == tmp_path / "worker-3"
    default = replace(settings, spool_dir="")
    assert default.spool_path(1) == default.spool_path() / "worker-1"  # type: ignore[operator]
    assert replace(settings, spool_dir="off").spool_path(1) is None
