"""The shapes ``GET /logs/{trace_id}`` answers in: JSON (the default), NDJSON and Markdown.

Chosen by ``?format=json|ndjson|md`` (which wins), else by ``Accept``: the most preferred media
type served here (``application/json``, ``application/x-ndjson``, ``text/markdown``), JSON for a
wildcard or no ``Accept`` at all. An unknown ``format`` is a 400 and an ``Accept`` naming only
types not served here a 406, each naming what it asked for.

NDJSON is the export: one item per line as the store holds it (entries, and drop and trimmed
markers with their times in ms), in the read's order and under its filters, so that
``PUT /logs/{trace_id}`` (an import) takes it back unchanged. Markdown is a report for a person
or an agent's prompt (``trace_markdown.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from tracesink.app.http import Request, Response
from tracesink.errors import ValidationError

JSON, NDJSON, MARKDOWN = "json", "ndjson", "md"
MEDIA_TYPES = {
    JSON: "application/json",
    NDJSON: "application/x-ndjson",
    MARKDOWN: "text/markdown",
}
_BY_MEDIA_TYPE = {
    **{media: name for name, media in MEDIA_TYPES.items()},
    "application/jsonl": NDJSON,
    "application/ndjson": NDJSON,
    "*/*": JSON,
    "application/*": JSON,
    "text/*": MARKDOWN,
}
_encode = msgspec.json.Encoder().encode


def trace_format(request: Request) -> str:
    """The answer's shape: ``?format`` when given, else negotiated from ``Accept``."""
    given = request.query("format")
    if given is not None:
        if given not in MEDIA_TYPES:
            raise ValidationError(
                f"format {given!r} is not one of {', '.join(MEDIA_TYPES)}", field="format"
            )
        return given
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return JSON
    ranked = _ranked(accept)
    for media in ranked:
        if media in _BY_MEDIA_TYPE:
            return _BY_MEDIA_TYPE[media]
    if not ranked:  # every type refused with q=0, or none readable: the default
        return JSON
    raise ValidationError(
        f"Accept names {', '.join(ranked[:5])}: a trace reads as "
        f"{', '.join(MEDIA_TYPES.values())} (or ?format={'|'.join(MEDIA_TYPES)})",
        field="Accept",
        status=406,
    )


def _ranked(accept: str) -> list[str]:
    """The media types of an ``Accept`` header, most preferred first (q=0 left out)."""
    found: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            found.append((-quality, position, media.lower()))
    return [media for _, _, media in sorted(found)]


def ndjson_response(items: Iterable[dict[str, Any]]) -> Response:
    body = b"".join(_encode(item) + b"\n" for item in items)
    return Response(200, body, [(b"content-type", MEDIA_TYPES[NDJSON].encode())])


def markdown_response(text: str) -> Response:
    content_type = f"{MEDIA_TYPES[MARKDOWN]}; charset=utf-8".encode()
    return Response(200, text.encode(), [(b"content-type", content_type)])
