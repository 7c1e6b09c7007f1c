# shellcheck shell=bash
# Tiny test harness for the deployment shell tests: run_test NAME, assertions, a summary like the guide's.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TESTS_RUN=0
TESTS_PASSED=0
TESTS_FAILED=0

# The scripts find hantu themselves (venv/, .venv/, or PATH: CI puts its venv's bin on PATH).
# Keep the developer's configuration out: an empty .env, no PostgreSQL, a throwaway HANTU_HOME.
TEST_TMP="$(mktemp -d "${TMPDIR:-/tmp}/hantu-deploy-tests.XXXXXX")"
trap 'rm -rf "$TEST_TMP"' EXIT
export HANTU_HOME="$TEST_TMP/home"
export HANTU_ENV_FILE="$TEST_TMP/test.env"
export PGPASSFILE="$TEST_TMP/pgpass"
for var in APP_KEY APP_SECRET ACCOUNT_NUMBER KIS_APP_KEY KIS_APP_SECRET KIS_ACCOUNT_NO TELEGRAM_BOT_TOKEN \
           TELEGRAM_CHAT_ID DATABASE_URL DB_HOST DB_USER DB_NAME DB_PASSWORD API_HOST API_SERVER_KEY TRADING_MODE \
           HANTU_MIN_AVAILABLE_MB HANTU_STRATEGY HANTU_DATA_SOURCE KRX_ID KRX_PW; do
  unset "$var"
done

# The hantu of this checkout, also for scripts pointed at a throwaway project directory (HANTU_PROJECT_DIR).
HANTU_PROJECT_DIR="$REPO_ROOT"
source "$REPO_ROOT/scripts/lib/hantu.sh"
hantu_resolve || exit 127
if [ "${#HANTU_CMD[@]}" -gt 1 ]; then export HANTU_PYTHON="${HANTU_CMD[0]}"; fi
unset HANTU_PROJECT_DIR

fail() { echo "assertion failed: $*" >&2; return 1; }
assert_eq() { [ "$1" = "$2" ] || fail "expected '$2', got '$1'${3:+ ($3)}"; }
assert_contains() { case "$1" in *"$2"*) ;; *) fail "output lacks '$2'"; return 1 ;; esac; }

run_test() {
  local name="$1"
  TESTS_RUN=$((TESTS_RUN + 1))
  local status=0
  # Not inside `if`: there bash would ignore `set -e` and only the last command would count.
  ( set -e; "$name" ) >"$TEST_TMP/$name.out" 2>&1
  status=$?
  if [ "$status" -eq 0 ]; then
    TESTS_PASSED=$((TESTS_PASSED + 1))
    echo "✓ PASS: $name"
  else
    TESTS_FAILED=$((TESTS_FAILED + 1))
    echo "✗ FAIL: $name"
    sed 's/^/    /' "$TEST_TMP/$name.out" | tail -20
  fi
}

header() {
  echo "=========================================="
  echo "$1"
  echo "=========================================="
  echo ""
}

summary() {
  echo ""
  echo "=========================================="
  echo "Test Summary"
  echo "=========================================="
  echo "Total:  $TESTS_RUN"
  echo "Passed: $TESTS_PASSED"
  echo "Failed: $TESTS_FAILED"
  echo ""
  if [ "$TESTS_FAILED" -eq 0 ]; then
    echo "✓ All tests passed!"
    return 0
  fi
  echo "✗ Some tests failed"
  return 1
}
