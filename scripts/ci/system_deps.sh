#!/usr/bin/env bash
# Debian packages some tests need: Chromium (dashboard browser test), systemd (systemd-analyze verify).
# Installs only what is missing; without root it says what is missing and those tests skip.
set -euo pipefail
need=()
fc-list 2>/dev/null | grep -qi nanum || need+=(fonts-nanum)  # Korean glyphs in the dashboard screenshot
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
if [ ${#need[@]} -eq 0 ]; then echo "system packages present"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "missing (tests needing them will skip): ${need[*]}"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
