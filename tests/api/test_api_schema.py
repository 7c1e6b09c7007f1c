"""Schemathesis against the OpenAPI document: generated requests to every operation on seeded data, with the API
key — no 5xx, every response matches its documented status codes, content type and schema, and requests that do
not fit the document (negative cases: `to=0` for a date, a date of 0 in a body) are refused.

Bounded for a shared 2-core machine: in-process (ASGI, no socket), `HANTU_SCHEMA_EXAMPLES` cases per operation and
mode (default 12: ~25 s of CPU, about a minute on the shared machine), a fixed hypothesis seed so that a failure reproduces. Runs on SQLite (the read
tests cover PostgreSQL); a module-scoped app keeps it fast. Controls are exercised too, which is fine: they only
record requests and audit rows in this test's own database (and hit their rate limit, a declared 429).
"""

from __future__ import annotations

import os
import time

import schemathesis
from api_seed import API_KEY, NOW, seed, seed_market
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SEED = 20261201
KEY = {"X-API-Key": API_KEY}  # fixed for every case, so that negative cases never negate the key
CPU_BUDGET_SECONDS = 120  # this process's CPU (in-process ASGI: all the work), ~25 s at the default examples


def _app():  # type: ignore[no-untyped-def]
    """The app on a seeded SQLite database in its own directory (built once, when schemathesis loads it)."""
    import tempfile
    from pathlib import Path

    from hantu.api.app import create_app
    from hantu.clock import FrozenClock
    from hantu.config import load_settings
    from hantu.store.db import Database
    from hantu.store.migrate import upgrade

    home = Path(tempfile.mkdtemp(prefix="hantu-schema-"))
    url = f"sqlite:///{home / 'schema.db'}"
    database = Database(url)
    upgrade(database)
    seed(database)
    database.dispose()
    seed_market(home)
    settings_ = load_settings(home / "absent.env", database_url=url, hantu_home=home, api_server_key=API_KEY,
                              api_host="127.0.0.1")
    return create_app(settings_, FrozenClock(NOW))


def _run(strategy, checks: list, examples: int) -> None:  # type: ignore[no-untyped-def,type-arg]
    @hypothesis_seed(SEED)
    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              phases=[Phase.explicit, Phase.generate])
    def check(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(checks=checks)

    check()


def test_openapi_conformance() -> None:
    """Every operation, positive and negative cases (schemathesis' pytest plugin does not load with this pytest,
    so the operations are driven through hypothesis directly)."""
    started = time.process_time()
    schema = schemathesis.openapi.from_asgi("/openapi.json", _app())
    examples = int(os.environ.get("HANTU_SCHEMA_EXAMPLES", "12"))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    negated = 0
    for operation in operations:
        _run(operation.as_strategy(generation_mode=GenerationMode.POSITIVE, headers=KEY), CHECKS, examples)
        if operation.definition.raw.get("parameters") or "requestBody" in operation.definition.raw:
            negated += 1
            _run(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE, headers=KEY),
                 [*CHECKS, negative_data_rejection], examples)
    assert negated >= 15
    assert time.process_time() - started < CPU_BUDGET_SECONDS


def test_every_operation_documents_its_answer_and_the_key() -> None:
    from hantu.api.app import create_app
    from hantu.config import load_settings

    document = create_app(load_settings()).openapi()
    assert document["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key", "description": "The API_SERVER_KEY"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            success = next(code for code in operation["responses"] if code.startswith("2"))
            content = operation["responses"][success].get("content", {})
            if path == "/metrics":
                assert "text/plain" in content and "401" in operation["responses"] and operation.get("security")
                continue
            if path.endswith("/report"):  # a stored HTML report, served as it is
                assert "text/html" in content and "401" in operation["responses"] and operation.get("security")
                continue
            schema = content["application/json"]["schema"]
            assert "$ref" in schema or schema.get("type") == "object", (method, path, schema)
            if path.startswith("/api/v1/") or path == "/metrics":
                assert "401" in operation["responses"] and operation.get("security"), (method, path)
