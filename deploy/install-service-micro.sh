#!/usr/bin/env bash
# Install the systemd units (deploy/hantu-scheduler.service, deploy/hantu-api.service) for this checkout,
# then daemon-reload and enable them.
#
# Usage: bash deploy/install-service-micro.sh                 # asks: 1 scheduler, 2 API, 3 both
#        bash deploy/install-service-micro.sh --all [--prefix /opt/hantu_quant] [--user ubuntu]
#        bash deploy/install-service-micro.sh --scheduler | --api
# Options for rehearsals and tests: --systemd-dir DIR (default /etc/systemd/system), --no-systemctl.
# Without root it re-runs itself through sudo when the systemd directory is not writable.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/hantu.sh"
hantu_resolve || exit 127

args=("$@")
systemd_dir="${HANTU_SYSTEMD_DIR:-/etc/systemd/system}"
have_prefix=0
have_user=0
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --systemd-dir) systemd_dir="${args[$((i + 1))]:-$systemd_dir}" ;;
    --systemd-dir=*) systemd_dir="${args[$i]#*=}" ;;
    --prefix|--prefix=*) have_prefix=1 ;;
    --user|--user=*) have_user=1 ;;
  esac
done
[ "$have_prefix" = 1 ] || args+=(--prefix "$HANTU_PROJECT_DIR")
# Under sudo the services still run as the user who asked, not root.
[ "$have_user" = 1 ] || [ -z "${SUDO_USER:-}" ] || args+=(--user "$SUDO_USER")

if [ "$(id -u)" != 0 ] && [ ! -w "$systemd_dir" ]; then
  [ "$have_user" = 1 ] || args+=(--user "$(id -un)")
  exec sudo "${HANTU_CMD[@]}" ops install-service "${args[@]}"
fi
cd "$HANTU_PROJECT_DIR" && exec "${HANTU_CMD[@]}" ops install-service "${args[@]}"
