"""OTLP attribute values (``AnyValue``, in either encoding) as plain JSON data, under a budget.

A record's attributes, its body and its resource's attributes are each converted with a
``Budget``: JSON holds at most one value per two bytes, so a part with more values than half
the bytes it may take (TRACESINK_MAX_CONTEXT_BYTES) could not be stored, and is refused before
it is built; nesting stops at MAX_VALUE_DEPTH. Bytes are base64, as OTLP/JSON spells them.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import msgspec
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tracesink.errors import ValidationError
from tracesink.ingest import otlp_json
from tracesink.ingest.servable import servable

MAX_VALUE_DEPTH = 32  # far past TRACESINK_MAX_CONTEXT_DEPTH, far below Python's recursion limit
_encode = msgspec.json.Encoder().encode


class Budget:
    """How many more values (attributes, array items, map entries) one part of a record may
    convert: JSON holds at most one value per two bytes, so past ``max_bytes / 2`` the part
    could not be stored (attributes: the context's cap) or shown (the body: the message's), and
    the record is refused unconverted."""

    __slots__ = ("field", "left", "max_bytes", "what")

    def __init__(self, max_bytes: int, what: str = "attributes", field: str = "context") -> None:
        self.what, self.field, self.max_bytes = what, field, max_bytes
        self.left = max(max_bytes // 2, 1)

    def spend(self, count: int, depth: int) -> None:
        self.left -= count
        if self.left < 0:
            raise ValidationError(
                f"the {self.what} hold more values than {self.max_bytes} bytes of JSON can "
                f"(TRACESINK_MAX_CONTEXT_BYTES): one per two bytes at most",
                field=self.field,
            )
        if depth > MAX_VALUE_DEPTH:
            raise ValidationError(
                f"a value is nested more than {MAX_VALUE_DEPTH} levels deep", field=self.field
            )


def message(body: AnyValue, budget: Budget) -> str:
    """A record's body as its message: a string as it is, anything else as JSON."""
    if body.WhichOneof("value") == "string_value":
        return body.string_value
    plain = any_value(body, budget, 1)
    return "" if plain is None else _encode(plain).decode()


def json_message(body: otlp_json.AnyValue | None, budget: Budget) -> str:
    """What ``message`` makes of the same body in OTLP/JSON."""
    if body is not None and body.string_value is not None:
        return body.string_value
    plain = None if body is None else json_any_value(body, budget, 1)
    return "" if plain is None else _encode(plain).decode()


def attributes(pairs: Any, budget: Budget, depth: int) -> dict[str, Any]:
    """Protobuf KeyValues as a dict, counted against the budget before a single one is read."""
    budget.spend(len(pairs), depth)
    found: list[KeyValue] = list(pairs)
    return {pair.key: any_value(pair.value, budget, depth + 1) for pair in found}


def any_value(value: AnyValue, budget: Budget, depth: int) -> Any:
    """A protobuf AnyValue as plain JSON data."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        items = value.array_value.values
        budget.spend(len(items), depth)
        return [any_value(item, budget, depth + 1) for item in items]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values, budget, depth)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "double_value":
        return servable(value.double_value)  # NaN as "NaN": readers cannot encode a NaN
    return getattr(value, kind)


def json_attributes(
    pairs: Sequence[otlp_json.KeyValue], budget: Budget, depth: int
) -> dict[str, Any]:
    """What ``attributes`` makes of the same KeyValues in OTLP/JSON."""
    budget.spend(len(pairs), depth)
    return {
        pair.key: None if pair.value is None else json_any_value(pair.value, budget, depth + 1)
        for pair in pairs
    }


def json_any_value(value: otlp_json.AnyValue, budget: Budget, depth: int) -> Any:
    """What ``any_value`` makes of the same AnyValue in OTLP/JSON (the first field set)."""
    if value.string_value is not None:
        return value.string_value
    if value.bool_value is not None:
        return value.bool_value
    if value.int_value is not None:
        return otlp_json.integer(value.int_value, "intValue")
    if value.double_value is not None:
        return servable(otlp_json.double(value.double_value))  # NaN as "NaN", as on any route
    if value.array_value is not None:
        items = value.array_value.values
        budget.spend(len(items), depth)
        return [json_any_value(item, budget, depth + 1) for item in items]
    if value.kvlist_value is not None:
        return json_attributes(value.kvlist_value.values, budget, depth)
    return value.bytes_value  # base64 already, as `any_value` spells bytes
