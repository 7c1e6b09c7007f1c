#!/usr/bin/env bash
# Pre-deployment checks: available memory (HANTU_MIN_AVAILABLE_MB, default 800) and the environment.
# Usage: bash scripts/deployment/pre_checks.sh check-memory|check-env|check-all [--min-available-mb N]
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/hantu.sh"
if [ $# -lt 1 ]; then
  echo "usage: $0 check-memory|check-env|check-all [--min-available-mb N]" >&2
  exit 2
fi
hantu_run ops pre-check "$@"
