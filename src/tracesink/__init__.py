"""tracesink: one HTTP endpoint for browser, backend and edge-worker logs, read back by trace_id."""

__version__ = "0.1.0"

from tracesink.client.context import trace

__all__ = ["__version__", "trace"]
