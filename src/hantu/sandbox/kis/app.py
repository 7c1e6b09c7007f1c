"""Assembling and running the KIS sandbox: in-process for tests (`start_kis_sandbox`, uvicorn in a thread on
a free loopback port) or as the `hantu sandbox kis` process (`serve`)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from hantu.clock import Clock, SystemClock
from hantu.market.panel import DailyPanel
from hantu.sandbox.kis.accounts import Account
from hantu.sandbox.kis.control import build_control_router
from hantu.sandbox.kis.events_api import build_events_router
from hantu.sandbox.kis.faults import Fault
from hantu.sandbox.kis.market import MarketReplay
from hantu.sandbox.kis.master import build_master_router
from hantu.sandbox.kis.rest import build_router
from hantu.sandbox.kis.state import SandboxOptions, SandboxState
from hantu.sandbox.kis.ws import build_ws_router

log = logging.getLogger(__name__)


def create_app(state: SandboxState) -> FastAPI:
    app = FastAPI(title="KIS sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(build_control_router(state))
    app.include_router(build_events_router(state))
    app.include_router(build_master_router(state))
    app.include_router(build_router(state))
    app.include_router(build_ws_router(state))
    app.state.sandbox = state
    return app


def load_instruments(source: DailyPanel | str | Path) -> list[Any] | None:
    """The store's instrument master when replaying a store (the master files and quotes show its facts)."""
    if isinstance(source, DailyPanel):
        return None
    from hantu.market.store import MarketStore

    return MarketStore(Path(source)).instruments()


def load_panel(source: DailyPanel | str | Path, days: int = 260) -> DailyPanel:
    """The market to replay: a panel, or the last `days` trading days of a market store directory."""
    if isinstance(source, DailyPanel):
        return source
    from hantu.market.store import MarketStore  # the project's store (`hantu data sample|import ...`)

    panel = MarketStore(Path(source)).load(days)
    if panel.close.size == 0:
        raise ValueError(f"the market store at {source} is empty: generate or import data first "
                         "(`hantu data sample` or `hantu data import krx-csv FILE`)")
    return panel


@dataclass
class SandboxHandle:
    """A running sandbox. `base_url`/`ws_url` go into `KIS_BASE_URL`/`KIS_WS_URL`."""

    state: SandboxState
    host: str
    port: int
    _server: Any
    _thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def create_account(self, server: str = "virtual", cash: int = 10_000_000, **kwargs: Any) -> Account:
        return self.state.accounts.create(server, cash, **kwargs)

    def add_fault(self, kind: str, count: int = 1, **match: Any) -> Fault:
        return self.state.faults.add(kind, count, **match)

    def stats(self, app_key: str | None = None) -> dict[str, Any]:
        return self.state.stats(app_key)

    def load_scenario(self, name: str, day: Any, codes: list[str] | None = None) -> dict[str, Any]:
        """Replay market-event day `name` on `day` (`hantu.sandbox.kis.scenarios`)."""
        from hantu.sandbox.kis import scenarios

        with self.state.lock:
            return scenarios.load(self.state.market, name, day, codes)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():  # open sockets keep it waiting: force
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server(app: FastAPI, log_level: str):
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off", ws="websockets-sansio",
                            ws_ping_interval=None, timeout_graceful_shutdown=1)
    return uvicorn.Server(config)


def start_kis_sandbox(source: DailyPanel | str | Path, clock: Clock | None = None,
                      options: SandboxOptions | None = None, host: str = "127.0.0.1", port: int = 0,
                      log_level: str = "warning") -> SandboxHandle:
    """Start a sandbox in this process (a uvicorn thread on `host:port`, 0 = a free port)."""
    state = SandboxState(MarketReplay(load_panel(source), seed=(options or SandboxOptions()).seed,
                                      instruments=load_instruments(source)), clock or SystemClock(), options)
    sock = _bind(host, port)
    server = _server(create_app(state), log_level)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="kis-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("KIS sandbox did not start")
        time.sleep(0.01)
    return SandboxHandle(state, host, sock.getsockname()[1], server, thread)


def serve(source: DailyPanel | str | Path, clock: Clock, options: SandboxOptions, host: str, port: int,
          home: Path | None, accounts: list[dict[str, Any]] | None = None, scenario: str | None = None) -> None:
    """Run the sandbox in the foreground until interrupted (the `hantu sandbox kis` command).

    Writes `<home>/kis-sandbox.json` (URLs, port, pid, accounts) once listening, so that a parent process
    that asked for port 0 can find it.
    """
    import os

    state = SandboxState(MarketReplay(load_panel(source), seed=options.seed, instruments=load_instruments(source)),
                         clock, options)
    created = [state.accounts.create(**spec).public() for spec in accounts or []]
    loaded = None
    if scenario:
        from hantu.sandbox.kis import scenarios

        loaded = scenarios.load(state.market, scenario, state.now().date())
    sock = _bind(host, port)
    actual = sock.getsockname()[1]
    server = _server(create_app(state), "warning")
    info = {"base_url": f"http://{host}:{actual}", "ws_url": f"ws://{host}:{actual}", "port": actual,
            "pid": os.getpid(), "accounts": created, "now": state.now().isoformat(), "scenario": loaded}

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if home is not None:
            home.mkdir(parents=True, exist_ok=True)
            ready = home / "kis-sandbox.json"
            tmp = ready.with_suffix(".tmp")
            tmp.write_text(json.dumps(info, ensure_ascii=False, indent=2))
            tmp.replace(ready)
        print(json.dumps(info, ensure_ascii=False), flush=True)
        await task

    asyncio.run(main())
