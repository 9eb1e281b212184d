"""The client is light: importing it loads nothing of the server."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_client_loads_no_server_dependency() -> None:
    """`import tracesink.client` (and `import tracesink`) in a fresh interpreter leave uvicorn,
    msgspec, redis, httpx and tracesink's server modules unloaded."""
    probe = (
        "import sys, tracesink, tracesink.client\n"
        "heavy = ('uvicorn', 'msgspec', 'redis', 'httpx', 'prometheus_client', "
        "'tracesink.app', 'tracesink.store', 'tracesink.pipeline', 'tracesink.ingest')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
