#!/usr/bin/env bash
# Integration tests of scripts/deployment/deploy.sh on a throwaway git repository: the guide's 8 scenarios.
# Host commands (pip, alembic, systemctl) are replaced through HANTU_DEPLOY_*_CMD by a recorder that can be
# told to fail; alerts go to the real outbox table of a SQLite database.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DEPLOY="$REPO_ROOT/scripts/deployment/deploy.sh"
SM="$REPO_ROOT/scripts/deployment/state_manager.sh"

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
ORIGIN="$TEST_TMP/origin.git"
UPSTREAM="$TEST_TMP/upstream"
PROJECT="$TEST_TMP/project"
git init -q --bare -b main "$ORIGIN"
git init -q -b main "$UPSTREAM"
(cd "$UPSTREAM" && printf '.deploy_state.json*\n' > .gitignore && echo v1 > VERSION && git add . \
  && git commit -q -m v1 && git remote add origin "$ORIGIN" && git push -q origin main)
git clone -q "$ORIGIN" "$PROJECT"

export HANTU_PROJECT_DIR="$PROJECT"
export HANTU_DEPLOY_STATE="$PROJECT/.deploy_state.json"
export DATABASE_URL="sqlite:///$TEST_TMP/outbox.db"
export HANTU_MEMINFO="$TEST_TMP/meminfo"
RECORD="$TEST_TMP/steps.log"
for step in install migrate restart; do
  cat > "$TEST_TMP/$step.sh" <<STEP
#!/bin/sh
echo "$step \$(git rev-parse --short HEAD)" >> "$RECORD"
if [ -f "$TEST_TMP/fail_$step" ]; then
  left=\$(cat "$TEST_TMP/fail_$step")
  if [ "\$left" != 0 ]; then echo \$((left - 1)) > "$TEST_TMP/fail_$step"; echo "$step broke"; exit 1; fi
fi
STEP
  chmod +x "$TEST_TMP/$step.sh"
done
export HANTU_DEPLOY_INSTALL_CMD="$TEST_TMP/install.sh" HANTU_DEPLOY_MIGRATE_CMD="$TEST_TMP/migrate.sh"
export HANTU_DEPLOY_RESTART_CMD="$TEST_TMP/restart.sh"
# A Saturday: outside the trading session whatever the real clock says.
DEPLOY_ARGS=(--now "2026-01-24 10:00" --retry-wait 0 --low-memory-extra-wait 0 --no-health-check)

memory() { printf 'MemTotal: 1024000 kB\nMemAvailable: %d kB\nSwapTotal: 2097148 kB\nSwapFree: 2097148 kB\n' \
  "$(($1 * 1024))" > "$HANTU_MEMINFO"; }
good_env() { printf 'TELEGRAM_BOT_TOKEN=123456:abcdefgh\nTELEGRAM_CHAT_ID=42\n' > "$HANTU_ENV_FILE"; chmod 600 "$HANTU_ENV_FILE"; }
push() { (cd "$UPSTREAM" && echo "$1" > VERSION && git commit -q -am "$1" && git push -q origin main); }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$HANTU_DEPLOY_STATE" "$1"; }
alerts() { python3 - "$TEST_TMP/outbox.db" <<'PY'
import sqlite3, sys
try:
    rows = sqlite3.connect(sys.argv[1]).execute("select kind, priority from notify_outbox order by id").fetchall()
except sqlite3.OperationalError:
    rows = []
print(" ".join(f"{k}:{p}" for k, p in rows))
PY
}
memory 900
good_env

test_state_file_initialization() {
  rm -f "$HANTU_DEPLOY_STATE"
  bash "$SM" init
  assert_eq "$(field consecutive_failures)" 0
  assert_eq "$(field last_status)" initialized
}

test_pre_deployment_env_validation() {
  printf 'TELEGRAM_BOT_TOKEN=123456:abcdefgh\n' > "$HANTU_ENV_FILE"  # a token without its chat
  local out code=0
  out="$(bash "$DEPLOY" "${DEPLOY_ARGS[@]}")" || code=$?
  good_env
  assert_eq "$code" 3 "exit code for an invalid configuration"
  assert_contains "$out" "✗ TELEGRAM_CHAT_ID: Missing (Required)"
  assert_contains "$(alerts)" "env_validation_failed:critical"
  [ ! -s "$RECORD" ] || fail "nothing may be installed with an invalid configuration"
}

test_deployment_success() {
  bash "$SM" reset
  push v2
  : > "$RECORD"
  bash "$DEPLOY" "${DEPLOY_ARGS[@]}"
  assert_eq "$(cat "$PROJECT/VERSION")" v2
  assert_eq "$(cut -d' ' -f1 "$RECORD" | tr '\n' ' ')" "install migrate restart "
  assert_eq "$(field last_status)" success
  assert_eq "$(field last_reason)" "Deployment succeeded on attempt 1"
}

test_deployment_failure() {
  echo -1 > "$TEST_TMP/fail_migrate"
  push v3
  local code=0
  bash "$DEPLOY" "${DEPLOY_ARGS[@]}" --attempts 1 || code=$?
  rm -f "$TEST_TMP/fail_migrate"
  assert_eq "$code" 1
  assert_eq "$(field last_status)" failed
  assert_contains "$(field last_reason)" "Migrate failed"
  assert_eq "$(cat "$PROJECT/VERSION")" v2 "the tree goes back to what the services run"
}

test_retry_logic() {
  bash "$SM" reset
  echo 2 > "$TEST_TMP/fail_install"
  local out
  out="$(bash "$DEPLOY" "${DEPLOY_ARGS[@]}")"
  assert_contains "$out" "Attempt 3/3"
  assert_contains "$out" "Deployment succeeded on attempt 3"
  assert_eq "$(cat "$PROJECT/VERSION")" v3
}

test_alert_at_two_failures() {
  bash "$SM" reset
  local before
  before="$(alerts)"
  echo -1 > "$TEST_TMP/fail_restart"
  bash "$DEPLOY" "${DEPLOY_ARGS[@]}" --attempts 2 || true
  rm -f "$TEST_TMP/fail_restart"
  assert_eq "$(bash "$SM" get-failures)" 2
  assert_eq "$(alerts)" "${before:+$before }deploy_failures:high"
}

test_state_reset_on_success() {
  [ "$(bash "$SM" get-failures)" -ge 2 ] || fail "expected the failure streak of the previous test"
  bash "$DEPLOY" "${DEPLOY_ARGS[@]}"
  assert_eq "$(bash "$SM" get-failures)" 0
}

test_state_persistence() {
  local attempts
  attempts="$(bash "$SM" get-attempts)"
  [ "$attempts" -ge 8 ] || fail "attempts were not accumulated across runs ($attempts)"
  bash "$SM" update failed "persisted"
  assert_eq "$(bash "$SM" get-attempts)" "$((attempts + 1))"
  assert_eq "$(field last_reason)" persisted
}

header "Deployment Integration Tests"
for t in test_state_file_initialization test_pre_deployment_env_validation test_deployment_success \
         test_deployment_failure test_retry_logic test_alert_at_two_failures test_state_reset_on_success \
         test_state_persistence; do
  run_test "$t"
done
summary
