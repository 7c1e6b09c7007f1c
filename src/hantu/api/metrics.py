"""Prometheus metrics for the API process: request counts and latency, plus a few gauges read at scrape time.

A registry per app (not the global one) so that tests can build many apps in one process.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2.0)


class ApiMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter("hantu_api_requests_total", "HTTP requests served",
                                ("method", "route", "status"), registry=self.registry)
        self.latency = Histogram("hantu_api_request_seconds", "Request latency", ("route",),
                                 buckets=BUCKETS, registry=self.registry)
        self.halted = Gauge("hantu_trading_halted", "1 when the kill switch is on", registry=self.registry)
        self.heartbeat_age = Gauge("hantu_scheduler_heartbeat_age_seconds",
                                   "Seconds since the scheduler's last heartbeat (-1: never)",
                                   registry=self.registry)
        self.cache_hits = Gauge("hantu_api_cache_hits", "Reads answered from the response cache",
                                registry=self.registry)
        self.cache_misses = Gauge("hantu_api_cache_misses", "Reads computed (cache misses)",
                                  registry=self.registry)
        self._refreshers: list[Callable[[], None]] = []

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def on_scrape(self, refresh: Callable[[], None]) -> None:
        self._refreshers.append(refresh)

    def render(self) -> bytes:
        for refresh in self._refreshers:
            refresh()
        return generate_latest(self.registry)
