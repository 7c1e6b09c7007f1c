"""`/metrics` is written by `hantu.api.metrics` (the API process no longer imports prometheus_client, P2): the
same requests give the text prometheus_client's `generate_latest` gives, byte for byte, once the `_created`
timestamps (wall-clock times of each series' first sample) are aligned."""

from __future__ import annotations

import re

import pytest

from hantu.api.metrics import BUCKETS, ApiMetrics, go_float

CREATED = re.compile(r"^(\S+_created\S*) (\S+)$", re.M)


def reference_render(calls: list[tuple[str, str, int, float]], gauges: dict[str, float], hits: int) -> bytes:
    """The old implementation (prometheus_client), fed the same calls."""
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    requests = Counter("hantu_api_requests_total", "HTTP requests served", ("method", "route", "status"),
                       registry=registry)
    latency = Histogram("hantu_api_request_seconds", "Request latency", ("route",), buckets=BUCKETS,
                        registry=registry)
    halted = Gauge("hantu_trading_halted", "1 when the kill switch is on", registry=registry)
    age = Gauge("hantu_scheduler_heartbeat_age_seconds", "Seconds since the scheduler's last heartbeat (-1: never)",
                registry=registry)
    cache_hits = Gauge("hantu_api_cache_hits", "Reads answered from the response cache", registry=registry)
    Gauge("hantu_api_cache_misses", "Reads computed (cache misses)", registry=registry)
    for method, route, status, seconds in calls:
        requests.labels(method, route, str(status)).inc()
        latency.labels(route).observe(seconds)
    halted.set(gauges["halted"])
    age.set(gauges["age"])
    for _ in range(hits):
        cache_hits.inc()
    return generate_latest(registry)


def ours(calls: list[tuple[str, str, int, float]], gauges: dict[str, float], hits: int) -> bytes:
    metrics = ApiMetrics()
    for call in calls:
        metrics.observe(*call)
    metrics.halted.set(gauges["halted"])
    metrics.heartbeat_age.set(gauges["age"])
    for _ in range(hits):
        metrics.cache_hits.inc()
    return metrics.render()


def aligned(text: bytes, reference: bytes) -> bytes:
    """`text` with each `_created` value replaced by the reference's value for the same series."""
    stamps = dict(CREATED.findall(reference.decode()))
    return CREATED.sub(lambda m: f"{m.group(1)} {stamps.get(m.group(1), 'missing')}", text.decode()).encode()


CASES = {
    "nothing served yet": ([], {"halted": 0, "age": -1}, 0),
    "routes, statuses, every bucket edge": (
        [("GET", "/api/v1/status", 200, 0.0031), ("GET", "/api/v1/status", 200, 0.03), ("POST", "/x", 401, 0.002),
         ("GET", "/api/v1/orders", 200, 2.0), ("GET", "/api/v1/orders", 503, 2.5), ("GET", "(other)", 404, 0.0),
         *[("GET", "/", 200, b) for b in BUCKETS], ("GET", "/", 200, 1e-7), ("GET", "/", 200, 1234567.0)],
        {"halted": 1, "age": 12.5}, 7),
    "label values that need escaping": ([("GE\"T", '/a\\b\n"c', 200, 0.01)], {"halted": 0, "age": 1e9 + 0.25}, 1),
}


@pytest.mark.parametrize("case", CASES)
def test_metrics_text_matches_prometheus_client(case: str) -> None:
    calls, gauges, hits = CASES[case]
    reference = reference_render(calls, gauges, hits)
    mine = ours(calls, gauges, hits)
    assert len(CREATED.findall(mine.decode())) == len(CREATED.findall(reference.decode()))
    assert aligned(mine, reference) == reference


def test_go_float_matches_prometheus_client() -> None:
    from prometheus_client.utils import floatToGoString

    for value in (0.0, 1.0, -1.0, 0.1, 2.0, 1e-7, 123456.0, 1234567.0, 1.7962e9, 1.7962273150178554e9, 12345678.5,
                  float("inf"), float("-inf"), float("nan"), -1234567.0):
        assert go_float(value) == floatToGoString(value), value


def test_content_type_is_prometheus_clients() -> None:
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    assert ApiMetrics.content_type == CONTENT_TYPE_LATEST
