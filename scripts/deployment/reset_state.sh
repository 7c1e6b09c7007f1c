#!/usr/bin/env bash
# Show the deployment state, ask y/N, reset the failure streak.
# Usage: bash scripts/deployment/reset_state.sh [--yes]
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/hantu.sh"
hantu_run ops reset-state "$@"
