"""The cluster scripts' replies are checked before they are believed: anything else a server
(or a proxy in front of it) answers is a StorageError naming the script, never a crash or a
decision made up from garbage."""

from __future__ import annotations

import pytest

from tracesink.errors import StorageError
from tracesink.store.cluster_scripts import append_replies, decide_reply, replay_refused


@pytest.mark.parametrize("reply", [b"OK", [1, 2], [1, -1, b"x"]])
def test_a_decision_reply_that_is_not_one_is_refused(reply: object) -> None:
    with pytest.raises(StorageError, match=r"cluster_decide\.lua"):
        decide_reply(reply, 1)


def test_a_decision_reply_is_read_as_write_batch_reads_its_own() -> None:
    """{calls, day, f, triples, five integers per entry}."""
    [decision] = decide_reply([3, -1, 1, b"g", 1, 0, 0, 9, -1, 4, 0], 1).decisions
    assert decision.admitted
    assert decision.remaining == {"global": 9, "trace": 4}


@pytest.mark.parametrize("reply", [[1], [1, 2], b"", [1, b"a", b"b"]])
def test_a_replay_reply_that_is_not_one_is_refused(reply: object) -> None:
    with pytest.raises(StorageError, match=r"cluster_replay\.lua"):
        replay_refused(reply)


def test_a_replay_reply_names_the_refused_ids() -> None:
    assert replay_refused([5, b"id-1 id-2"]) == {"id-1", "id-2"}
    assert replay_refused([1, b""]) == set()


@pytest.mark.parametrize("reply", [[1, 0, 1], [1, 0, 1, True], b"x", [1, 0, 1, 1, 0]])
def test_an_append_reply_of_the_wrong_shape_is_refused(reply: object) -> None:
    with pytest.raises(StorageError, match=r"cluster_append\.lua"):
        append_replies(reply, 1)
