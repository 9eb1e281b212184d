"""The bounded formatter renders exactly what Python's ``%`` renders, fails where it fails, and
stays bounded where ``%`` would not."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracesink.ingest.printf import MAX_CONVERSIONS, format_bounded, valid_text

LIMIT = 1000
SMALL = st.integers(min_value=-50, max_value=50)
VALUES = (
    st.none()
    | st.booleans()
    | SMALL
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=4)
    | st.tuples(SMALL)
)
# Widths and precisions of at most two digits: Python's own `%` must stay cheap to compare with.
NOISE = st.text(alphabet="%()*.-+ #0123456789sdrcfexXgaiLhlyab", max_size=24).filter(
    lambda msg: re.search(r"\d{3}", msg) is None
)
# Conversions as people write them, and nearly so: mostly valid, so that both answers are texts.
SPEC = st.builds(
    "%{}{}{}{}{}{}".format,
    st.sampled_from(["", "", "(a)", "(b)", "(a(b))", "("]),
    st.text(alphabet="-+ #0", max_size=2),
    st.sampled_from(["", "", "3", "12", "*"]),
    st.sampled_from(["", "", ".", ".2", ".*", ".10"]),
    st.sampled_from(["", "", "l", "h"]),
    st.sampled_from(list("sdrcfexXgaiuoEFG%y")),
)
MSG = NOISE | st.lists(SPEC | st.sampled_from(["x", " ", "%%", "é"]), max_size=5).map("".join)


def python_format(msg: str, args: Any) -> str | None:
    try:
        return valid_text(msg % args)
    except Exception:  # any error of `%` is what is compared
        return None


@settings(max_examples=800, deadline=None)
@given(
    msg=MSG,
    args=st.tuples()
    | st.lists(VALUES, max_size=4).map(tuple)
    | st.dictionaries(st.sampled_from(["a", "b", "a(b)", ""]), VALUES, max_size=3)
    | VALUES,
)
def test_the_same_text_as_python_or_none_where_python_raises(msg: str, args: Any) -> None:
    """For any text and arguments whose numbers are small, the result is `msg % args` (lone
    surrogates replaced), and None exactly where `%` raises; past the limit, where rendering
    stops, the result begins as `%`'s does."""
    expected, result = python_format(msg, args), format_bounded(msg, args, LIMIT)
    if result is not None and len(result) > LIMIT:  # cut short: the caller truncates it
        assert expected is None or expected.startswith(result[:LIMIT])
    else:
        assert result == expected


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("%999999999999s", (1,)),
        ("%(a)999999999s" * 2, {"a": 1}),
        ("%.999999999999f", (1.0,)),
        ("%*s", (10**15, "x")),
        ("%(a).0r" * 100_000, {"a": list(range(10_000))}),
        ("%.0s" * 100_000, tuple(range(100_000))),
        ("%" + "-" * 500_000 + "s", ("x",)),
        ("%(" + "(" * 500_000, {"a": 1}),
        ("%." + "0" * 500_000 + "1f", (1.0,)),
        ("%%" * 500_000, ()),
    ],
)
def test_hostile_texts_finish_fast_and_bounded(msg: str, args: Any) -> None:
    """Huge widths (after a key, as `*`, in a precision), a value named 100,000 times, 100,000
    conversions, half a megabyte of flags, parentheses or precision digits: each call finishes
    within a second (~1 ms each here, slack for a loaded machine) and answers at most twice the
    limit (or None)."""
    started = time.perf_counter()
    result = format_bounded(msg, args, LIMIT)
    assert time.perf_counter() - started < 1.0  # ~1 ms each; `%` itself takes seconds
    assert result is None or len(result) <= 2 * LIMIT


def test_conversions_past_the_cap_are_refused() -> None:
    """A text with more conversions than MAX_CONVERSIONS (none of them printing anything) is
    not formatted: the caller keeps it as sent."""
    assert format_bounded("%.0s" * MAX_CONVERSIONS, ("x",) * MAX_CONVERSIONS, LIMIT) == ""
    more = MAX_CONVERSIONS + 1
    assert format_bounded("%.0s" * more, ("x",) * more, LIMIT) is None
