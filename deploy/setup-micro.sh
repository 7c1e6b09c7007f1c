#!/usr/bin/env bash
# Bootstrap a 1 GB Ubuntu VM for Hantu Quant (idempotent: finished steps are skipped on a re-run).
# Packages, 2 GB swap if there is none, Asia/Seoul timezone, low-memory sysctl, project directory, venv,
# install, .env, database schema, log-rotation cron; the API port only with --open-api-port and API_SERVER_KEY.
#
# Usage: bash deploy/setup-micro.sh [--dry-run] [--open-api-port] [--prefix /opt/hantu_quant] [--user ubuntu]
#                                   [--repo https://github.com/...git]
# Runs as a sudo-capable user (root steps use sudo) or as root. Uses the system python3 (>= 3.11):
# the venv does not exist yet.
set -uo pipefail
project_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${HANTU_SETUP_PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: $python is missing or older than 3.11: sudo apt install -y python3 python3-venv" >&2
  exit 1
fi
cd "$project_dir" && HANTU_PROJECT_DIR="$project_dir" PYTHONPATH="$project_dir/src" \
  exec "$python" -m hantu.ops.setup_host "$@"
