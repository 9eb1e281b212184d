"""CommandPublisher: commands no write carried are published after a while, or at once when
many wait."""

from __future__ import annotations

from tracesink.accounting.publisher import PUBLISH_AFTER_S, CommandPublisher, publish_threshold
from tracesink.store.base import Usage


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_waiting_commands_are_published_after_a_while_or_when_many() -> None:
    """Nothing is due while nothing waits; a few waiting commands are due after
    PUBLISH_AFTER_S; as many as the threshold are due at once; publishing clears them."""
    usage = Usage()
    published = []

    async def publish() -> None:
        published.append(usage.commands - usage.shared_mark)
        usage.shared_mark = usage.commands + 3

    clock = Clock()
    publisher = CommandPublisher(lambda: usage, publish, threshold=10, clock=clock)
    assert not publisher.due()
    usage.commands = 2
    assert not publisher.due()
    clock.now = PUBLISH_AFTER_S
    assert publisher.due()
    await publisher.publish_now()
    usage.commands += 3  # the publishing call's own commands, counted
    assert published == [2]
    assert not publisher.due()
    usage.commands += 10
    assert publisher.due()


def test_the_threshold_is_a_hundredth_of_the_budget() -> None:
    """1 % of the daily budget, never fewer than 10 commands."""
    assert publish_threshold(3000) == 30
    assert publish_threshold(100) == 10
