"""Reading traces for coding agents: the MCP tools, shared by ``tracesink mcp`` (stdio, over HTTP
to a running service) and the service's own ``/mcp`` (in-process). docs/agents.md says how to
configure an agent and what each tool returns and costs.

The tool logic (``tools.py``) and its text (``render.py``) know nothing of MCP; ``server.py``
declares them with the ``mcp`` SDK, which is an extra (``pip install 'tracesink[mcp]'``), so only
``server.py`` and its callers import it.
"""
