#!/usr/bin/env bash
# The deployment state file (.deploy_state.json, or $HANTU_DEPLOY_STATE).
# Usage: bash scripts/deployment/state_manager.sh
#          init | get-state | get-failures | get-success | get-attempts | update success|failed [reason] | reset
# Exit: 0 ok, 1 no state file, 2 usage, 3 corrupt state file (a copy is kept next to it).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/hantu.sh"
case "${1:-}" in
  init|get-state|get-failures|get-success|get-attempts|update|reset) ;;
  *)
    echo "usage: $0 init|get-state|get-failures|get-success|get-attempts|update success|failed [reason]|reset" >&2
    exit 2 ;;
esac
hantu_run ops state "$@"
