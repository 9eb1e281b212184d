# tracesink in a container. Not built in CI (no container engine there): its steps are the ones
# the tested install takes, a wheel built from this checkout and installed into a fresh venv.
#   docker build -t tracesink .
#   docker run -p 8787:8787 -e TRACESINK_READ_TOKEN=... -e TRACESINK_STORE=redis://... tracesink
# See docs/deploy.md ("Docker").

FROM python:3.12-slim AS builder
WORKDIR /src
RUN pip install --no-cache-dir "build>=1.2,<2"
COPY . .
RUN python -m build --wheel --outdir /dist

FROM python:3.12-slim
# No .pyc writes at run time, output unbuffered (log lines reach `docker logs` at once).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --home-dir /var/lib/tracesink --create-home --shell /usr/sbin/nologin tracesink
COPY --from=builder /dist/*.whl /tmp/
# With the MCP server (/mcp, for coding agents: docs/agents.md), about 40 MB more; an image for
# ingest alone: --build-arg EXTRAS= (then /mcp answers 501).
ARG EXTRAS=mcp
RUN python -m venv /opt/tracesink \
    && wheel="$(ls /tmp/*.whl)" \
    && /opt/tracesink/bin/pip install --no-cache-dir "${wheel}${EXTRAS:+[$EXTRAS]}" \
    && rm /tmp/*.whl
# In a container the service must listen beyond loopback, so it refuses to start without
# TRACESINK_READ_TOKEN (or --insecure): pass the token with -e or an env file.
ENV TRACESINK_HOST=0.0.0.0 \
    TRACESINK_PORT=8787 \
    TRACESINK_SPOOL_DIR=/var/lib/tracesink/spool
# The spool (batches waiting while Redis is unreachable) must outlive the container.
VOLUME /var/lib/tracesink
USER tracesink
EXPOSE 8787
# /health: 200 while the store (or the spool) takes writes, 503 otherwise; urlopen raises on 503.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/opt/tracesink/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('TRACESINK_PORT', '8787')}/health\", timeout=2)"]
# SIGTERM (docker stop) drains: requests in flight finish, the writer flushes.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/tracesink/bin/tracesink", "serve"]
