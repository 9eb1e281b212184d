"""``tracesink dev``: the development stack (a private redis-server, tracesink, and with
``--example`` the full-stack example) in one terminal, stopped together by Ctrl-C."""
