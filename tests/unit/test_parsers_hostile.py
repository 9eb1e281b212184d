"""Property-based checks that no parser lets anything but its own error out, whatever the input:
settings values, headers, URLs to mask."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tracesink.config import load_settings
from tracesink.config_options import OPTIONS, Option
from tracesink.errors import ConfigurationError, ValidationError
from tracesink.ingest.detect import detect_from_headers
from tracesink.masking import mask_url
from tracesink.model import SYSTEM_NAME

TEXT = st.text(max_size=60)
HEADERS = st.sampled_from(
    ["x-log-system", "cf-worker", "origin", "user-agent", "sec-fetch-mode", "sec-fetch-site"]
)


@given(option=st.sampled_from(OPTIONS), raw=TEXT)
def test_any_setting_value_loads_or_names_the_setting(option: Option, raw: str) -> None:
    """Every setting either accepts a value or refuses it with a message naming the variable,
    and a secret's value never appears in that message."""
    message = ""
    try:
        load_settings({option.env: raw})
    except ConfigurationError as exc:
        message = str(exc)
    if message:
        assert option.env in message
        if option.secret and len(raw) >= 4:
            assert raw not in message


@given(st.dictionaries(HEADERS, TEXT))
def test_any_headers_detect_a_known_system_or_fail_cleanly(headers: dict[str, str]) -> None:
    """Detection answers a well-formed system name and rule, or a ValidationError naming the
    header."""
    try:
        system, rule = detect_from_headers(headers)
    except ValidationError as exc:
        system, rule = "refused", str(exc.field)
    assert (system, rule) == ("refused", "X-Log-System") or (
        SYSTEM_NAME.fullmatch(system) is not None and bool(rule)
    )


@given(
    user=st.text(alphabet="abc", max_size=5),
    secret=st.text(alphabet="XYZ?#/@:[]=&", min_size=6, max_size=20).filter(
        lambda s: sum(c in "XYZ" for c in s) >= 2
    ),
    host=st.text(alphabet="abcdef.-:0123456789[]", max_size=20),
    scheme=st.sampled_from(["redis", "rediss", "upstash+https", "foo", ""]),
)
def test_masking_never_shows_the_secret(user: str, secret: str, host: str, scheme: str) -> None:
    """Whatever the URL looks like (a password holding ?, #, /, @ or brackets, a bad host, no
    scheme at all), no run of the password's letters survives masking, and masking never
    raises."""
    prefix = f"{scheme}://" if scheme else ""
    bare = secret.replace(":", "")  # in token@host, a ":" would make what precedes it a user
    for url in (
        f"{prefix}{user}:{secret}@{host}/0",
        f"{prefix}{bare}@{host}",
        f"{prefix}/sock?password={secret}",
        f"{prefix}{host}/0?db=1&password={secret}&x=1",
    ):
        masked = mask_url(url)
        for run in re.findall(r"[XYZ]{2,}", secret):  # the same runs are in `bare`
            assert run not in masked, (url, masked)
