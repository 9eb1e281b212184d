"""Tools for development: ``tracesink dev``, the development stack (a private redis-server,
tracesink, and with ``--example`` the full-stack example) in one terminal, stopped together by
Ctrl-C; and ``python -m tracesink.dev.rest_emulator``, Upstash's REST API over a redis-server."""
