"""The key layout (store/keys.py, docs/keys.md): one key never names two things."""

from __future__ import annotations

import itertools
import random

import pytest

from tracesink.config import load_settings
from tracesink.errors import ConfigurationError
from tracesink.store import keys

TRACE_CHARS = "abAB09._:-"


def every_key(prefix: str, variable: str) -> dict[str, tuple[str, str, str]]:
    """Each kind's key for ``prefix`` and one variable part, with what it names."""
    numbers = ["0", "-1", "123"]
    return {
        **{keys.trace_key(prefix, variable): (prefix, keys.TRACE, variable)},
        **{keys.counters_key(prefix, int(n)): (prefix, keys.COUNTERS, n) for n in numbers},
        **{keys.day_key(prefix, int(n)): (prefix, keys.DAY, n) for n in numbers},
    }


def test_overlapping_prefixes_never_name_the_same_key() -> None:
    """The issue's case: prefixes kp: and kp:logs: (and trace ids that spell the other's keys)
    give disjoint key sets, and the counter hash of one is no trace list of the other."""
    a, b = "kp:", "kp:logs:"
    assert keys.trace_key(a, "logs:secret-b") != keys.trace_key(b, "secret-b")
    assert keys.trace_key(a, "logs:rl:") not in {keys.counters_key(b, n) for n in range(-2, 3)}
    # Any trace id of A against B's keys: A's trace keys always start "kp:logs:{".
    assert not keys.counters_key(b, 7).startswith(keys.trace_lead(a))
    assert not keys.trace_key(b, "x").startswith(keys.trace_lead(a))


def test_a_key_names_one_prefix_kind_and_variable_whatever_they_are() -> None:
    """Exhaustive over short prefixes and trace ids from the allowed characters (those that
    overlap most: ':' and the letters of the kinds): every key parses back to exactly what
    built it, so two different (prefix, kind, variable) never give one key."""
    rng = random.Random(21)
    pieces = ["", "kp:", "logs:", "rl:", "day:", "l", "s:", "tracesink", "-", ".", "a"]
    prefixes = {"".join(p) for p in itertools.product(pieces, repeat=2)}
    alphabet = TRACE_CHARS + "lgosrdy"
    prefixes |= {"".join(rng.choices(alphabet, k=rng.randint(1, 12))) for _ in range(300)}
    variables = ["a", "logs:a", "rl:", "tracesink", "day:1", ":", "logs:"]
    seen: dict[str, tuple[str, str, str]] = {}
    for prefix in prefixes:
        assert keys.PREFIX.fullmatch(prefix), prefix
        for variable in variables:
            for key, named in every_key(prefix, variable).items():
                assert seen.setdefault(key, named) == named, key
                parsed_prefix, kind, tag, tail = keys.parse(key)
                assert (parsed_prefix, kind) == named[:2]
                assert (tag if kind == keys.TRACE else tail[1:]) == named[2]
                assert keys.key_pattern(prefix).fullmatch(key)


def test_no_kind_ends_another_and_none_holds_a_brace() -> None:
    """The two facts the proof rests on, for every kind, the reserved ones included."""
    for a, b in itertools.permutations(keys.KINDS, 2):
        assert not a.endswith(b), (a, b)
    assert not any(c in "{}" for kind in keys.KINDS for c in kind)


def test_trace_keys_share_a_slot_by_trace_and_counters_one_slot() -> None:
    """Hash tags: a trace's list (and its future pin) hash on the trace id alone; the counter
    hashes of every window and the day key all on one tag, so one script call may touch them
    together on a Cluster."""

    def tag(key: str) -> str:
        return key.partition("{")[2].partition("}")[0]

    assert tag(keys.trace_key("dev:", "t-1")) == "t-1"
    shared = {tag(keys.counters_key("dev:", n)) for n in range(5)}
    assert shared | {tag(keys.day_key("dev:", 20000))} == {keys.SHARED}


def test_a_trace_id_is_read_back_from_its_key() -> None:
    """The scripts and stores recover a trace id from its list key (trace_lead, trace_of)."""
    key = keys.trace_key("kp:logs:", "logs:x:y")
    assert keys.trace_of("kp:logs:", key) == "logs:x:y"
    assert key[len(keys.trace_lead("kp:logs:")) : -1] == "logs:x:y"


@pytest.mark.parametrize("prefix", ["a{b", "x}", "{", "a" * 65, "dev/", "dév:"])
def test_a_prefix_outside_the_rule_stops_start_up_naming_the_variable(prefix: str) -> None:
    """TRACESINK_KEY_PREFIX accepts what keeps the layout unambiguous (no brace), and says so."""
    with pytest.raises(ConfigurationError) as refused:
        load_settings({"TRACESINK_KEY_PREFIX": prefix})
    assert "TRACESINK_KEY_PREFIX" in str(refused.value)
    assert keys.PREFIX_RULE in str(refused.value)


@pytest.mark.parametrize("key", ["logs:a", "tracesink:rl:5", "kp:logs:{a}x", "rl:{other}:1", ""])
def test_what_is_not_of_the_layout_does_not_parse(key: str) -> None:
    """The old layout and strays are not keys of this one (the fuzz test relies on that)."""
    with pytest.raises(ValueError, match="not a tracesink key"):
        keys.parse(key)
    assert not keys.key_pattern("").fullmatch(key)
