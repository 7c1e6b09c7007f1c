#!/usr/bin/env bash
# Deploy this checkout: fetch, pre-checks, install, migrate, restart, health check, record the state.
# Up to 3 attempts (5 minutes apart), alerts through the Telegram outbox, refuses to restart during the
# trading session unless --force, rolls back to the previous commit when the health check fails.
# Usage: bash scripts/deployment/deploy.sh [--force] [--branch main] [--retry-wait 300] [--no-fetch] ...
#        (all options: hantu ops deploy --help)
# Exit: 0 deployed, 1 failed, 3 configuration invalid, 4 refused during the trading session.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/hantu.sh"
hantu_run ops deploy "$@"
