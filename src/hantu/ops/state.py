"""The deployment state file (`.deploy_state.json`): consecutive failures, last success, attempts.

Every change happens under an exclusive `flock` on a sibling lock file and is written atomically (temporary
file in the same directory, fsync, rename), so two deploys never interleave and a crash never leaves half a
file. A file that is not valid state is *reported* and copied to `<file>.corrupt-<timestamp>` before anything
writes over it; reads of a corrupt file fail instead of guessing.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hantu.ops.host import utc_iso

STATE_FILE_NAME = ".deploy_state.json"
STATE_ENV = "HANTU_DEPLOY_STATE"
FIELDS = ("consecutive_failures", "last_success", "last_attempt", "attempts", "last_status", "last_reason")


class CorruptStateError(Exception):
    """The state file exists but is not valid state; `backup` is where a copy was kept."""

    def __init__(self, path: Path, problem: str, backup: Path | None) -> None:
        self.path, self.problem, self.backup = path, problem, backup
        super().__init__(f"{self.summary}. Inspect it, then run `state_manager.sh init` to start a fresh state")

    @property
    def summary(self) -> str:
        where = f"; a copy is kept at {self.backup}" if self.backup else ""
        return f"deploy state file {self.path} is corrupt ({self.problem}){where}"


@dataclass
class DeployState:
    consecutive_failures: int = 0
    last_success: str | None = None
    last_attempt: str | None = None
    attempts: int = 0
    last_status: str = "initialized"
    last_reason: str = "State initialized"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> DeployState:
        """Validate a parsed file; raises ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        missing = [f for f in FIELDS if f not in data]
        if missing:
            raise ValueError("missing fields: " + ", ".join(missing))
        for name in ("consecutive_failures", "attempts"):
            value = data[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        for name in ("last_success", "last_attempt"):
            if data[name] is not None and not isinstance(data[name], str):
                raise ValueError(f"{name} must be a timestamp string or null")
        for name in ("last_status", "last_reason"):
            if not isinstance(data[name], str):
                raise ValueError(f"{name} must be a string")
        return cls(**{f: data[f] for f in FIELDS})


def default_state_path(project_dir: Path | None = None) -> Path:
    """`$HANTU_DEPLOY_STATE`, else `.deploy_state.json` in the project directory (the current one)."""
    explicit = os.environ.get(STATE_ENV)
    if explicit:
        return Path(explicit)
    return (project_dir or Path.cwd()) / STATE_FILE_NAME


class StateStore:
    """Reads and changes one state file; every method is safe against concurrent callers."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    # --- reading ------------------------------------------------------------------------------------
    def _read_unlocked(self) -> DeployState | None:
        """The state, None when there is no file; CorruptStateError (after a backup) when unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return DeployState.from_dict(json.loads(text))
        except (json.JSONDecodeError, ValueError, TypeError) as error:
            raise CorruptStateError(self.path, str(error), self._backup(text)) from error

    def _backup(self, text: str) -> Path:
        """Keep a copy of a corrupt file (one copy per distinct content)."""
        for existing in sorted(self.path.parent.glob(self.path.name + ".corrupt-*")):
            try:
                if existing.read_text(encoding="utf-8", errors="replace") == text:
                    return existing
            except OSError:
                continue
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
        backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        backup.write_text(text, encoding="utf-8")
        return backup

    def read(self) -> DeployState | None:
        with self._locked():
            return self._read_unlocked()

    # --- writing ------------------------------------------------------------------------------------
    def _write_unlocked(self, state: DeployState) -> None:
        payload = json.dumps(state.as_dict(), indent=2, ensure_ascii=False) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _current_or_fresh(self, warnings: list[str]) -> DeployState:
        """The state to change: a corrupt file is backed up and reported in `warnings`, then starts fresh."""
        try:
            return self._read_unlocked() or DeployState()
        except CorruptStateError as error:
            warnings.append(error.summary + "; starting a fresh state")
            return DeployState()

    def init(self) -> tuple[DeployState, bool, list[str]]:
        """Create the file when absent (or corrupt, after a backup); returns (state, created, warnings)."""
        warnings: list[str] = []
        with self._locked():
            try:
                existing = self._read_unlocked()
            except CorruptStateError as error:
                warnings.append(error.summary + "; starting a fresh state")
                existing = None
            if existing is not None:
                return existing, False, warnings
            state = DeployState()
            self._write_unlocked(state)
            return state, True, warnings

    def record(self, success: bool, reason: str, now: datetime) -> tuple[DeployState, list[str]]:
        """Count one deployment attempt; a success clears the failure streak."""
        warnings: list[str] = []
        with self._locked():
            state = self._current_or_fresh(warnings)
            stamp = utc_iso(now)
            state.attempts += 1
            state.last_attempt = stamp
            state.last_reason = reason
            if success:
                state.consecutive_failures = 0
                state.last_success = stamp
                state.last_status = "success"
            else:
                state.consecutive_failures += 1
                state.last_status = "failed"
            self._write_unlocked(state)
            return state, warnings

    def reset(self, reason: str = "Manual reset") -> tuple[DeployState, list[str]]:
        """Clear the failure streak (history — attempts, last success — is kept)."""
        warnings: list[str] = []
        with self._locked():
            state = self._current_or_fresh(warnings)
            state.consecutive_failures = 0
            state.last_status = "reset"
            state.last_reason = reason
            self._write_unlocked(state)
            return state, warnings
