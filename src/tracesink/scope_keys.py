"""Keys of the ASGI scope through which the app and the server under it speak to each other.

They live here, below both, so that neither layer imports the other for a name: the app
(``app/``) sets them, the server (``server/``) reads them.
"""

from __future__ import annotations

# A streaming response (app/streaming.py) leaves a callable under this key; the server's protocol
# (server/protocol.py) calls it when the server stops, to end the stream instead of waiting out
# the whole grace period.
STOP_ON_SHUTDOWN = "tracesink.stop_on_shutdown"
