#!/usr/bin/env bash
# npm test: set up what is missing, check types and lint, then run every test against real
# servers (scripts/run-tests.ts). Extra arguments filter test files by path.
#
# On a fresh machine the Go builds that only the Kubernetes, Compose and Ansible tests need
# (Kubernetes, Docker Compose, the Temporal UI server: about 20 minutes on 2 cores) run in the
# background while the other tests run; those tests run once the builds are done. The multi-node
# topology test is not part of `npm test` (it needs a Temporal server built from source, about
# 9 minutes more): `npm run test:topology`.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .hades
bash scripts/setup.sh --browser --ansible --schemathesis

late='kubernetes|k8s|compose|ansible'
background_log=.hades/setup-background.log
background=
if [ -n "$(npx tsx scripts/run-tests.ts --list --only="$late" "$@")" ]; then
  echo "[test] building Kubernetes and Docker Compose in the background (log: $background_log)"
  (bash scripts/setup.sh --no-images --kubernetes --compose && bash scripts/build-compose-images.sh >/dev/null) \
    >"$background_log" 2>&1 </dev/null &
  background=$!
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
