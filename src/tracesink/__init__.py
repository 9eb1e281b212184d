"""tracesink: one HTTP endpoint for browser, backend and edge-worker logs, read back by trace_id."""

__version__ = "0.1.0"
