"""The HTTP server under the app: how `tracesink serve` listens and runs uvicorn."""
