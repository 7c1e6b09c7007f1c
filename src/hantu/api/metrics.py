"""Prometheus metrics for the API process: request counts and latency, plus a few gauges read at scrape time.

Written here in the Prometheus text format (0.0.4, what `prometheus_client.generate_latest` writes, byte for byte:
tests/api/test_api_metrics_text.py compares them) instead of importing prometheus_client, whose exposition
module brings http.server, urllib.request and wsgiref into this lean process (~1.3 MB, quality bar P2) for a
handful of series. State per app, so that tests can build many apps in one process. Updated from the event
loop only (the middleware and the scrape); no locks.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2.0)
CONTENT_TYPE = "text/plain; version=1.0.0; charset=utf-8"  # prometheus_client 0.26's CONTENT_TYPE_LATEST
# prometheus_client's switch for the `_created` series, honoured the same way
CREATED = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() not in ("true", "1", "t")


def go_float(value: float) -> str:
    """A sample value as Prometheus (Go) prints it: `+Inf`, `1.0`, `1.7962e+09` (prometheus_client's rule)."""
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(float(value))
    dot = text.find(".")
    if value > 0 and dot > 6:  # Go switches to exponents sooner than Python
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _labels(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in sorted(pairs)) + "}" if pairs else ""


def _head(name: str, help_text: str, kind: str) -> str:
    escaped = help_text.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {escaped}\n# TYPE {name} {kind}\n"


class Gauge:
    """One unlabelled value."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self.value = 0.0

    def set(self, value: float) -> None:
        self.value = float(value)

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def render(self) -> str:
        return _head(self.name, self.help, "gauge") + f"{self.name} {go_float(self.value)}\n"


class Counter:
    """Counts per label values, each with the time its series appeared (`_created`)."""

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...]) -> None:
        self.name, self.help, self.labelnames = name, help_text, labelnames
        self.series: dict[tuple[str, ...], list[float]] = {}  # label values -> [count, created]

    def inc(self, *labelvalues: str) -> None:
        found = self.series.get(labelvalues)
        if found is None:
            found = self.series[labelvalues] = [0.0, time.time()]
        found[0] += 1.0

    def render(self) -> str:
        rows = [(_labels(list(zip(self.labelnames, values, strict=True))), count, created)
                for values, (count, created) in self.series.items()]
        out = _head(self.name + "_total", self.help, "counter")
        out += "".join(f"{self.name}_total{labels} {go_float(count)}\n" for labels, count, _ in rows)
        if CREATED and rows:
            out += _head(self.name + "_created", self.help, "gauge")
            out += "".join(f"{self.name}_created{labels} {go_float(created)}\n" for labels, _, created in rows)
        return out


class Histogram:
    """Cumulative buckets, count and sum per label values."""

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.labelnames = name, help_text, labelnames
        self.bounds = (*buckets, math.inf)
        self.series: dict[tuple[str, ...], tuple[list[float], list[float]]] = {}  # -> (bucket counts, [sum, created])

    def observe(self, seconds: float, *labelvalues: str) -> None:
        found = self.series.get(labelvalues)
        if found is None:
            found = self.series[labelvalues] = ([0.0] * len(self.bounds), [0.0, time.time()])
        counts, totals = found
        totals[0] += seconds
        for i, bound in enumerate(self.bounds):
            if seconds <= bound:
                counts[i] += 1.0
                break

    def render(self) -> str:
        out = _head(self.name, self.help, "histogram")
        created: list[tuple[str, float]] = []
        for values, (counts, (total, started)) in self.series.items():
            pairs = list(zip(self.labelnames, values, strict=True))
            running = 0.0
            for bound, count in zip(self.bounds, counts, strict=True):
                running += count
                out += f"{self.name}_bucket{_labels([*pairs, ('le', go_float(bound))])} {go_float(running)}\n"
            labels = _labels(pairs)
            out += f"{self.name}_count{labels} {go_float(running)}\n{self.name}_sum{labels} {go_float(total)}\n"
            created.append((labels, started))
        if CREATED and created:
            out += _head(self.name + "_created", self.help, "gauge")
            out += "".join(f"{self.name}_created{labels} {go_float(at)}\n" for labels, at in created)
        return out


class ApiMetrics:
    content_type = CONTENT_TYPE

    def __init__(self) -> None:
        self.requests = Counter("hantu_api_requests", "HTTP requests served", ("method", "route", "status"))
        self.latency = Histogram("hantu_api_request_seconds", "Request latency", ("route",), BUCKETS)
        self.halted = Gauge("hantu_trading_halted", "1 when the kill switch is on")
        self.heartbeat_age = Gauge("hantu_scheduler_heartbeat_age_seconds",
                                   "Seconds since the scheduler's last heartbeat (-1: never)")
        self.cache_hits = Gauge("hantu_api_cache_hits", "Reads answered from the response cache")
        self.cache_misses = Gauge("hantu_api_cache_misses", "Reads computed (cache misses)")
        self._refreshers: list[Callable[[], None]] = []

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.inc(method, route, str(status))
        self.latency.observe(seconds, route)

    def on_scrape(self, refresh: Callable[[], None]) -> None:
        self._refreshers.append(refresh)

    def render(self) -> bytes:
        for refresh in self._refreshers:
            refresh()
        families = (self.requests, self.latency, self.halted, self.heartbeat_age, self.cache_hits, self.cache_misses)
        return "".join(family.render() for family in families).encode()
