"""docs/kis-faq.md says how the scheduler's trading session gets KIS prices; this keeps the sentence true.

The behaviour itself (a KIS session on the sandbox reports `StreamingFeed` and opens a WebSocket) is run by
tests/trading/test_session_faults.py::test_the_scheduler_entry_point_streams_kis_prices_over_the_websocket;
here: the doc names that default, the job calls the entry point without a feed, and the entry point's default
for a KIS broker is the streaming feed."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

from helpers import REPO_ROOT


def _note() -> str:
    text = (REPO_ROOT / "docs" / "kis-faq.md").read_text(encoding="utf-8")
    match = re.search(r"Note: with a KIS broker the scheduler's trading session (.*?)\n\n", text, re.S)
    assert match, "kis-faq.md no longer says how the scheduler's session gets KIS prices"
    assert "not yet switched on" not in text
    return " ".join(match.group(1).split())


def test_the_doc_names_the_sessions_default_feed() -> None:
    note = _note()
    assert note.startswith("streams prices over the WebSocket by default (`StreamingFeed.for_kis`")
    assert "`BrokerPollingFeed`" in note and "only while the socket is down" in note


def test_the_trading_session_job_leaves_the_feed_to_the_session_default() -> None:
    from hantu.scheduler import jobs
    from hantu.trading import session

    job = ast.parse(textwrap.dedent(inspect.getsource(jobs.trading_session)))
    calls = [
        n for n in ast.walk(job) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "run_session"
    ]
    assert calls and all("feed" not in {k.arg for k in c.keywords} for c in calls)
    assert inspect.signature(session.run).parameters["feed"].default is None
    assert "open_live_feed(broker, clock" in inspect.getsource(session.run)
    source = inspect.getsource(session.open_live_feed)
    assert "StreamingFeed.for_kis(kis, clock" in source  # the default the doc names, for a KIS broker
    behaviour = (REPO_ROOT / "tests" / "trading" / "test_session_faults.py").read_text(encoding="utf-8")
    assert "def test_the_scheduler_entry_point_streams_kis_prices_over_the_websocket" in behaviour
    assert 'report.feed == "StreamingFeed"' in behaviour
