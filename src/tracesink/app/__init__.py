"""The HTTP side of tracesink: plain ASGI, no business rules (those live in ingest/ and store/)."""

from tracesink.app.application import TraceSinkApp, create_app

__all__ = ["TraceSinkApp", "create_app"]
