#!/usr/bin/env bash
# Unit tests of scripts/deployment/state_manager.sh (the guide's 6 tests).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SM="$REPO_ROOT/scripts/deployment/state_manager.sh"
export HANTU_DEPLOY_STATE="/tmp/test_state_manager_$$.json"
trap 'rm -rf "$TEST_TMP" "$HANTU_DEPLOY_STATE" "$HANTU_DEPLOY_STATE".*' EXIT

field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$HANTU_DEPLOY_STATE" "$1"; }

test_init_state() {
  rm -f "$HANTU_DEPLOY_STATE"
  bash "$SM" init
  [ -f "$HANTU_DEPLOY_STATE" ] || fail "no state file"
  assert_eq "$(bash "$SM" get-failures)" 0
  assert_eq "$(bash "$SM" get-attempts)" 0
  assert_eq "$(bash "$SM" get-success)" null
}

test_update_state_success() {
  bash "$SM" init
  bash "$SM" update success "Deployment succeeded on attempt 1"
  assert_eq "$(field last_status)" success
  assert_eq "$(field last_reason)" "Deployment succeeded on attempt 1"
  case "$(bash "$SM" get-success)" in 20??-??-??T??:??:??Z) ;; *) fail "last_success not a UTC timestamp" ;; esac
}

test_update_state_failed() {
  bash "$SM" update failed "Memory check failed"
  assert_eq "$(field last_status)" failed
  assert_eq "$(field last_reason)" "Memory check failed"
  assert_eq "$(bash "$SM" get-failures)" 1
}

test_get_consecutive_failures() {
  bash "$SM" reset
  bash "$SM" update failed "one"
  bash "$SM" update failed "two"
  bash "$SM" update failed "three"
  assert_eq "$(bash "$SM" get-failures)" 3
  bash "$SM" update success
  assert_eq "$(bash "$SM" get-failures)" 0
}

test_reset_state() {
  bash "$SM" update failed "Build failed"
  bash "$SM" reset
  assert_eq "$(bash "$SM" get-failures)" 0
  assert_eq "$(field last_status)" reset
  assert_eq "$(field last_reason)" "Manual reset"
}

test_get_attempts() {
  local before
  before="$(bash "$SM" get-attempts)"
  bash "$SM" update failed "x"
  bash "$SM" update success
  assert_eq "$(bash "$SM" get-attempts)" "$((before + 2))"
}

# the six tests the deployment guide lists (a corrupt file: tests/ops/test_state.py)
header "State Manager Unit Tests"
echo "Test state file: $HANTU_DEPLOY_STATE"
echo ""
for t in test_init_state test_update_state_success test_update_state_failed test_get_consecutive_failures \
         test_reset_state test_get_attempts; do
  run_test "$t"
done
summary
