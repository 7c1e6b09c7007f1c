#!/usr/bin/env bash
# Unit tests of scripts/deployment/validate_env.sh (required/optional variables, .pgpass, errors).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VE="$REPO_ROOT/scripts/deployment/validate_env.sh"

write_env() { printf '%b' "$1" > "$HANTU_ENV_FILE"; chmod 600 "$HANTU_ENV_FILE"; }
TELEGRAM='TELEGRAM_BOT_TOKEN=123456:abcdefgh\nTELEGRAM_CHAT_ID=42\n'
POSTGRES='DB_HOST=localhost\nDB_USER=hantu\nDB_NAME=hantu_quant\n'

test_all_required_set() {
  write_env "$TELEGRAM"
  local out
  out="$(bash "$VE")"
  assert_contains "$out" "✓ TELEGRAM_BOT_TOKEN: Set"
  assert_contains "$out" "Validation: PASSED"
}

test_missing_required_fails() {
  write_env 'TRADING_MODE=kis\nKIS_APP_KEY=PSabcdefgh\n'
  local out code=0
  out="$(bash "$VE")" || code=$?
  assert_eq "$code" 1
  assert_contains "$out" "✗ KIS_APP_SECRET: Missing (Required)"
  assert_contains "$out" "Validation: FAILED"
}

test_telegram_is_optional() {
  write_env 'HANTU_STRATEGY=momentum\n'
  local out
  out="$(bash "$VE")"
  assert_contains "$out" "⚠ TELEGRAM_BOT_TOKEN: Missing (Optional)"
  assert_contains "$out" "Validation: PASSED"
}

test_strategy_typo_fails_like_config_check() {
  write_env "${TELEGRAM}HANTU_STRATEGY=momentun\n"
  local out code=0 check=0
  out="$(bash "$VE")" || code=$?
  assert_eq "$code" 1
  assert_contains "$out" "✗ HANTU_STRATEGY: Unknown strategy 'momentun' (did you mean momentum?)"
  "${HANTU_CMD[@]}" config check >/dev/null || check=$?
  assert_eq "$check" 1 "hantu config check must fail the same file"
}

test_pykrx_without_login_fails() {
  write_env "${TELEGRAM}HANTU_DATA_SOURCE=pykrx\n"
  local out code=0
  out="$(env -u KRX_ID -u KRX_PW bash "$VE")" || code=$?
  assert_eq "$code" 1
  assert_contains "$out" "✗ KRX_ID: Missing"
}

test_optional_missing_warns_only() {
  write_env "${TELEGRAM}KIS_APP_KEY=PSabcdefgh\n"
  local out
  out="$(bash "$VE")"
  assert_contains "$out" "✓ KIS_APP_KEY: Set"
  assert_contains "$out" "⚠ KIS_APP_SECRET: Missing (Optional)"
  assert_contains "$out" "Validation: PASSED"
}

test_postgres_requires_db_vars_and_pgpass() {
  write_env "${TELEGRAM}DB_HOST=localhost\n"
  rm -f "$PGPASSFILE"
  local out code=0
  out="$(bash "$VE")" || code=$?
  assert_eq "$code" 1
  assert_contains "$out" "✗ DB_USER: Missing (Required)"
  assert_contains "$out" "✗ .pgpass: Not found"
}

test_pgpass_permissions_checked() {
  write_env "${TELEGRAM}${POSTGRES}"
  echo "localhost:5432:hantu_quant:hantu:secret" > "$PGPASSFILE"
  chmod 644 "$PGPASSFILE"
  local out code=0
  out="$(bash "$VE")" || code=$?
  assert_eq "$code" 1 "a .pgpass libpq ignores must fail validation"
  assert_contains "$out" "Permissions 644"
  chmod 600 "$PGPASSFILE"
  out="$(bash "$VE")"
  assert_contains "$out" "✓ .pgpass: Exists with correct permissions (600)"
  assert_contains "$out" "Validation: PASSED"
}

test_invalid_value_is_an_error() {
  write_env "${TELEGRAM}ACCOUNT_NUMBER=12-34\n"
  local out code=0
  out="$(bash "$VE")" || code=$?
  assert_eq "$code" 1
  assert_contains "$out" "✗ ACCOUNT_NUMBER: Invalid value"
}

header "Environment Validation Unit Tests"
for t in test_all_required_set test_missing_required_fails test_telegram_is_optional \
         test_strategy_typo_fails_like_config_check test_pykrx_without_login_fails test_optional_missing_warns_only \
         test_postgres_requires_db_vars_and_pgpass test_pgpass_permissions_checked test_invalid_value_is_an_error; do
  run_test "$t"
done
summary
