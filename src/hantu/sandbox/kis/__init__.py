"""The KIS sandbox: a local server speaking KIS's wire format over a replayed market (docs/kis-sandbox.md).

`start_kis_sandbox(panel_or_store, clock, options)` runs one in-process (tests); `hantu sandbox kis` runs one
as a process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hantu.sandbox.kis.app import SandboxHandle, start_kis_sandbox
    from hantu.sandbox.kis.state import SandboxOptions

__all__ = ["SandboxHandle", "SandboxOptions", "start_kis_sandbox"]


def __getattr__(name: str) -> Any:
    if name in ("SandboxHandle", "start_kis_sandbox"):
        from hantu.sandbox.kis import app

        return getattr(app, name)
    if name == "SandboxOptions":
        from hantu.sandbox.kis.state import SandboxOptions

        return SandboxOptions
    raise AttributeError(name)
