#!/usr/bin/env bash
# npm test: set up what is missing, check types and lint, then run every test against real
# servers (scripts/run-tests.ts). Extra arguments filter test files by path.
#
# On a fresh machine the Go builds that only the Kubernetes, Compose, Ansible and topology tests
# need (Kubernetes, Docker Compose, the Temporal UI server, a Temporal server: about 30 minutes
# on 2 cores) run in the background while the other tests run; those tests run once the builds
# are done. Measured from a fresh machine: about 40 minutes in all.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .hades
bash scripts/setup.sh --browser --ansible --schemathesis

# Files that need the background builds, and the chaos test (it must not share the CPUs with them).
late='^test/(integration/(ansible|compose|k8sDeploy|executors/kubernetes)|topology/|chaos/)'
background_log=.hades/setup-background.log
background=
if [ -n "$(npx tsx scripts/run-tests.ts --list --only="$late" "$@")" ]; then
  echo "[test] building Kubernetes, Docker Compose and a Temporal server in the background (log: $background_log)"
  # Its own process group (setsid), so that it ends with this script whichever way that ends.
  setsid bash -c 'bash scripts/setup.sh --no-images --kubernetes --compose --temporal-server && bash scripts/build-compose-images.sh >/dev/null' \
    >"$background_log" 2>&1 </dev/null &
  background=$!
  trap 'kill -- -"$background" 2>/dev/null || true' EXIT
fi
fail_background() { tail -40 "$background_log" >&2; echo "[test] ERROR: the background set-up failed (log: $background_log)" >&2; exit 1; }

echo "[test] typecheck"
npx tsc -p tsconfig.json --noEmit
echo "[test] lint"
npx eslint .

code=0
npx tsx scripts/run-tests.ts --skip="$late" "$@" || code=$?
if [ -n "$background" ]; then
  echo "[test] waiting for the background set-up"
  wait "$background" || fail_background
  npx tsx scripts/run-tests.ts --only="$late" --run-dir=test-run-late "$@" || code=$?
fi
exit "$code"
