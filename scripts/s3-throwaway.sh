#!/usr/bin/env bash
# s3-throwaway.sh start DIR | stop DIR
# Starts a throwaway S3-compatible server (versitygw's posix backend, storing under DIR) on a free
# loopback port with fixed root credentials, creates the bucket "slipway-test", and prints the
# blob store URL that reaches it (what blob.OpenURL and SLIPWAY_TEST_S3 take):
#   s3://slipway-test?endpoint=http://127.0.0.1:PORT&region=us-east-1&access_key=…&secret_key=…
# It exports nothing. versitygw is installed with `go install` into a cache directory
# ($SLIPWAY_CACHE, default ~/.cache/slipway) the first time. It fails loudly if it cannot.
set -euo pipefail
cmd=${1:?usage: s3-throwaway.sh start|stop DIR}
dir=${2:?usage: s3-throwaway.sh start|stop DIR}
version=v1.8.0
cache=${SLIPWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/slipway}
bin=$cache/versitygw-$version/versitygw
access=slipwaytestroot
secret=slipway-throwaway-secret-key
bucket=slipway-test
region=us-east-1
case $cmd in
start)
  if [ ! -x "$bin" ]; then
    echo "s3-throwaway: installing versitygw $version into $(dirname "$bin")" >&2
    (cd / && GOBIN=$(dirname "$bin") GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$version") >&2 ||
      { echo "s3-throwaway: cannot install versitygw $version" >&2; exit 1; }
  fi
  mkdir -p "$dir/root"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # setsid: the server outlives this script, in a session of its own, like pg_ctl's postmaster.
  setsid "$bin" --access "$access" --secret "$secret" --region "$region" --port "127.0.0.1:$port" \
    --quiet --health /health posix "$dir/root" >"$dir/server.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  fail() { cat "$dir/server.log" >&2; echo "s3-throwaway: $*" >&2; kill "$(cat "$dir/pid")" 2>/dev/null || true; exit 1; }
  url=http://127.0.0.1:$port
  for _ in $(seq 1 100); do
    curl -fsS "$url/health" >/dev/null 2>&1 && break
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || fail "versitygw exited"
    sleep 0.1
  done
  curl -fsS "$url/health" >/dev/null || fail "versitygw did not come up on $url"
  curl -fsS -X PUT -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 "aws:amz:$region:s3" \
    --user "$access:$secret" "$url/$bucket" >/dev/null || fail "cannot create bucket $bucket"
  echo "s3://$bucket?endpoint=$url&region=$region&access_key=$access&secret_key=$secret"
  ;;
stop)
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*) echo "usage: s3-throwaway.sh start|stop DIR" >&2; exit 2 ;;
esac
