# shellcheck shell=bash
# Sourced by every deployment script: the project directory and the `hantu` command of its virtualenv.
#
# The venv is found in this order: $HANTU_PYTHON (an interpreter), $HANTU_VENV, <project>/venv (the guide's
# name), <project>/.venv (dev.py's name), then `hantu` on PATH. The scripts run from the project directory, so
# `.env` and `.deploy_state.json` are the project's.

HANTU_PROJECT_DIR="${HANTU_PROJECT_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
export HANTU_PROJECT_DIR

hantu_resolve() {
  local candidate
  HANTU_CMD=()
  if [ -n "${HANTU_PYTHON:-}" ]; then
    HANTU_CMD=("$HANTU_PYTHON" -m hantu)
    return 0
  fi
  for candidate in "${HANTU_VENV:-}" "$HANTU_PROJECT_DIR/venv" "$HANTU_PROJECT_DIR/.venv"; do
    if [ -n "$candidate" ] && [ -x "$candidate/bin/python" ] \
        && "$candidate/bin/python" -c 'import hantu' >/dev/null 2>&1; then
      HANTU_CMD=("$candidate/bin/python" -m hantu)
      return 0
    fi
  done
  if command -v hantu >/dev/null 2>&1; then
    HANTU_CMD=("$(command -v hantu)")
    return 0
  fi
  echo "error: hantu is not installed: no venv/ or .venv/ in $HANTU_PROJECT_DIR with hantu, and no hantu on PATH." >&2
  echo "       Run: cd $HANTU_PROJECT_DIR && python3 -m venv venv && venv/bin/pip install -e ." >&2
  return 1
}

# Run `hantu ARGS...` from the project directory with the project's venv.
hantu_run() {
  hantu_resolve || return 127
  (cd "$HANTU_PROJECT_DIR" && "${HANTU_CMD[@]}" "$@")
}
