"""Property-based checks that no parser lets anything but its own error out, whatever the input:
settings values, headers, URLs to mask."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tracesink.config import OPTIONS, Option, load_settings, mask_url
from tracesink.errors import ConfigurationError, ValidationError
from tracesink.ingest.detect import detect_from_headers

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
    """Detection answers a known system and rule, or a ValidationError naming the header."""
    try:
        system, rule = detect_from_headers(headers)
    except ValidationError as exc:
        system, rule = "refused", str(exc.field)
    assert (system, rule) == ("refused", "X-Log-System") or (
        system in ("browser", "worker", "convex", "manual") and bool(rule)
    )


@given(
    user=st.text(alphabet="abc", max_size=5),
    secret=st.text(alphabet="XYZ", min_size=6, max_size=20),
    host=st.text(alphabet="abcdef.-:0123456789[]", max_size=20),
    scheme=st.sampled_from(["redis", "rediss", "upstash+https", "foo"]),
)
def test_masking_never_shows_the_secret(user: str, secret: str, host: str, scheme: str) -> None:
    """Whatever the URL looks like, malformed ones included (an unbalanced ``[`` makes urlsplit
    raise), masking returns it without the password, and never raises: it runs while an error
    message is being built."""
    for url in (
        f"{scheme}://{user}:{secret}@{host}/0",
        f"{scheme}://{secret}@{host}",
        f"{scheme}:///sock?password={secret}",
    ):
        assert secret not in mask_url(url)
