#!/usr/bin/env bash
# Validate the variables a deployment needs (.env and the environment, read as the app reads them).
# Usage: bash scripts/deployment/validate_env.sh [--json]      Exit: 0 passed, 1 failed.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/hantu.sh"
hantu_run ops validate-env "$@"
