"""``GET /metrics``: Prometheus text format through ``prometheus-client``.

A custom collector reads ``Telemetry``, the writer and the store at scrape time, so the numbers
are the same ones ``/stats`` shows, kept once; under ``serve --workers N``, summed over the
workers (accounting/shared_telemetry.py). Each app has its own registry (no process-wide
global state), which also keeps tests independent.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from tracesink.accounting.telemetry import Histogram
from tracesink.app.http import Request, Response
from tracesink.app.state import AppState
from tracesink.pipeline import IngestPipeline


def _histogram(name: str, doc: str, histogram: Histogram) -> HistogramMetricFamily:
    counts = histogram.counts or [0] * len(histogram.bounds)
    buckets = [(str(bound), float(n)) for bound, n in zip(histogram.bounds, counts, strict=True)]
    buckets.append(("+Inf", float(histogram.n)))
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=histogram.total)


def _labelled(
    name: str, doc: str, labels: list[str], values: dict[tuple[str, ...], int]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for label_values, n in sorted(values.items()):
        family.add_metric(list(label_values), n)
    return family


class TraceSinkCollector(Collector):
    def __init__(self, pipeline: IngestPipeline) -> None:
        self._pipeline = pipeline

    def collect(self) -> Iterable[Metric]:
        # The whole instance's: every worker's under `serve --workers N` (shared_telemetry.py).
        telemetry, status = self._pipeline.instance_telemetry()
        yield _labelled(
            "tracesink_entries_accepted",
            "Entries stored (or queued in the spool)",
            ["system"],
            {(system,): n for system, n in telemetry.accepted.items()},
        )
        yield _labelled(
            "tracesink_entries_queued",
            "Entries accepted into the spool during an outage",
            ["system"],
            {(system,): n for system, n in telemetry.queued.items()},
        )
        yield _labelled(
            "tracesink_entries_refused",
            "Entries refused, by the reason",
            ["system", "reason"],
            {(system, reason): n for (system, reason), n in telemetry.refused.items()},
        )
        yield _histogram("tracesink_batch_size", "Entries per store step", telemetry.batch_sizes)
        yield _histogram(
            "tracesink_flush_seconds", "Time of one store step", telemetry.flush_seconds
        )
        yield GaugeMetricFamily(
            "tracesink_queue_depth", "Entries waiting for the store", value=status.queued
        )
        yield CounterMetricFamily(
            "tracesink_store_errors", "Store steps that failed", value=telemetry.store_errors
        )
        usage = telemetry.usage
        yield CounterMetricFamily(
            "tracesink_store_commands",
            "Store commands sent, as a hosted Redis bills them (script inner calls included)",
            value=usage.commands,
        )
        yield CounterMetricFamily(
            "tracesink_store_bytes_sent", "Bytes of keys and arguments sent", value=usage.bytes_sent
        )
        yield CounterMetricFamily(
            "tracesink_store_bytes_stored", "Bytes of entries written", value=usage.bytes_stored
        )
        if status.spool is not None:
            yield GaugeMetricFamily(
                "tracesink_spool_entries",
                "Entries waiting in the spool",
                value=status.spool.entries,
            )
            yield GaugeMetricFamily(
                "tracesink_spool_bytes", "Size of the spool", value=status.spool.bytes
            )


async def get_metrics(state: AppState, request: Request) -> Response:
    # A registry per scrape: scrapes are rare, and nothing process-wide is left behind.
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TraceSinkCollector(state.pipeline))
    headers = [(b"content-type", CONTENT_TYPE_LATEST.encode())]
    return Response(200, generate_latest(registry), headers)
