#!/usr/bin/env bash
# Log rotation: keep 7 days, gzip 8-30 days, delete older; alert when the disk is fuller than 85 %.
# Usage: bash scripts/log_rotate.sh [--keep-days 7] [--delete-days 30] [--disk-alert-percent 85] [--dry-run]
# Cron (02:00 KST; `hantu ops install-cron` adds it):
#   0 2 * * * cd /opt/hantu_quant && bash scripts/log_rotate.sh >> logs/log_rotate.log 2>&1
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/hantu.sh"
hantu_run ops log-rotate "$@"
