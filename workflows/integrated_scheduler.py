"""`python -m workflows.integrated_scheduler start|status|stop|run JOB [--date D]` (the deployment guide's name).

A thin entry point: the scheduler lives in `hantu.scheduler`; this is the same as `hantu run` / `hantu jobs`.
"""

import sys
from pathlib import Path

# Run from a checkout without installing: make `src/` importable.
_src = Path(__file__).resolve().parents[1] / "src"
if _src.is_dir() and str(_src) not in sys.path:
    sys.path.insert(0, str(_src))

from hantu.cli.main import run_app  # noqa: E402
from hantu.cli.scheduler_cmd import workflow_app  # noqa: E402


def main() -> None:
    run_app(workflow_app, prog_name="python -m workflows.integrated_scheduler")


if __name__ == "__main__":
    main()
