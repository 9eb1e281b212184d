"""The terminal commands that talk to a running tracesink over HTTP: ``logs``, ``tail``,
``traces``, ``send``, ``doctor`` and ``stats``. Each works against a remote deployment
(``--url`` / ``TRACESINK_URL``, the read token from ``TRACESINK_READ_TOKEN``)."""
