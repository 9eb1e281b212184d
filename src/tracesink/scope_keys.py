"""Keys of the ASGI scope through which the app and the server under it speak to each other.

They live here, below both, so that neither layer imports the other for a name: the app
(``app/``) sets them, the server (``server/``) reads them; or the other way round.
"""

from __future__ import annotations

# A streaming response (app/streaming.py) leaves a callable under this key; the server's protocol
# (server/protocol.py) calls it when the server stops, to end the stream instead of waiting out
# the whole grace period.
STOP_ON_SHUTDOWN = "tracesink.stop_on_shutdown"

# The server's protocol (server/protocol.py) stamps when a request began to arrive, in ms since
# the epoch; the ingest routes measure a sender's clock against it (ingest/clock.py), so time a
# request spent queued in this process is not taken for clock error.
ARRIVED_MS = "tracesink.arrived_ms"
