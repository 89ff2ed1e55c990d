#!/usr/bin/env bash
# test.sh: run every test of Slipway, with everything the tests need.
# It installs the Debian packages the tests use when they are missing (as root), starts a
# throwaway PostgreSQL on a free loopback port for the store conformance suite, runs go vet and
# go test over the whole module (the packages with concurrency under the race detector), and
# stops PostgreSQL at the end. The docs test (go test ./docs) runs every sh block of README.md and
# docs/*.md against fresh servers with /usr/bin/aws and /usr/bin/python3, beside the race run.
# Nothing is skipped: if a prerequisite cannot be had, it fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the web console's browser tests (internal/app TestConsoleInChromium) drive it headless.
need=(postgresql awscli curl sqlite3 jq chromium python3-boto3 python3-xgboost python3-sklearn python3-pandas python3-flask python3-gunicorn)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "test.sh: need root to install ${missing[*]} (or install them: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for bin in /usr/bin/aws /usr/bin/python3 /usr/bin/sqlite3 /usr/bin/jq /usr/bin/curl /usr/bin/chromium; do
  [ -x "$bin" ] || { echo "test.sh: $bin is missing" >&2; exit 1; }
done
/usr/bin/python3 -c 'import boto3, xgboost, sklearn, pandas, flask, gunicorn' || { echo "test.sh: Debian's Python lacks boto3/xgboost/sklearn/pandas/flask/gunicorn" >&2; exit 1; }

pgdir=$(mktemp -d /tmp/slipway-test-pg.XXXXXX)
cleanup() { { [ -n "${docs_pid:-}" ] && kill "$docs_pid" 2>/dev/null; } || true; scripts/pg-throwaway.sh stop "$pgdir/pg" || true; scripts/s3-throwaway.sh stop "$pgdir/s3" || true; rm -rf "$pgdir"; }
trap cleanup EXIT
SLIPWAY_TEST_POSTGRES=$(scripts/pg-throwaway.sh start "$pgdir/pg")
export SLIPWAY_TEST_POSTGRES
echo "test.sh: PostgreSQL at $SLIPWAY_TEST_POSTGRES"

# A throwaway S3-compatible server (versitygw, installed into a cache on first use) for the blob
# store's S3 backend; its conformance test fails when SLIPWAY_TEST_S3 is missing.
SLIPWAY_TEST_S3=$(scripts/s3-throwaway.sh start "$pgdir/s3")
export SLIPWAY_TEST_S3
echo "test.sh: S3-compatible server at ${SLIPWAY_TEST_S3%%&access_key=*}"

echo "test.sh: go vet ./..."
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change: $unformatted" >&2
  exit 1
fi
# The packages with concurrency (the store, the API server, the composition root, background
# runtimes, and the end-to-end tests, whose servers are then race-built too) run under the race
# detector instead of plainly; the pattern picks up such packages as they are added.
race_re='/internal/(store|awsapi|app|reconcile|runtime|artifacts)(/|$)|/e2e$'
all=$(go list ./...)
# The docs package (every page's commands through the real aws CLI and Python: bound by their
# start-up CPU) is the longest of the plain ones; it runs beside the race run, which spends much of
# its time waiting (leases, killed servers restarting), instead of before it.
race_pkgs=$(grep -E "$race_re" <<<"$all" || true)
docs_pkgs=$(grep -E '/docs$' <<<"$all" || true)
plain_pkgs=$(grep -vE "$race_re|/docs\$" <<<"$all")
echo "test.sh: go test $(wc -w <<<"$plain_pkgs") packages"
go test -count=1 -timeout 40m $plain_pkgs "$@"
docs_rc=0
if [ -n "$docs_pkgs" ]; then
  echo "test.sh: go test $docs_pkgs (beside the race run; its output follows the race run's)"
  go test -count=1 -timeout 40m $docs_pkgs "$@" >"$pgdir/docs.log" 2>&1 &
  docs_pid=$!
fi
echo "test.sh: go test -race" $race_pkgs
race_rc=0
go test -race -count=1 -timeout 25m $race_pkgs "$@" || race_rc=$?
if [ -n "$docs_pkgs" ]; then
  wait "$docs_pid" || docs_rc=$?
  cat "$pgdir/docs.log"
fi
if [ "$race_rc" != 0 ] || [ "$docs_rc" != 0 ]; then
  echo "test.sh: FAILED (race run exit $race_rc, docs exit $docs_rc)" >&2
  exit 1
fi
