#!/usr/bin/env bash
# npm test: set up what is missing, check types and lint, then run every test against real
# servers (scripts/run-tests.ts). Extra arguments filter test files by path.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser --kubernetes --compose --ansible --temporal-server
echo "[test] typecheck"
npx tsc -p tsconfig.json --noEmit
echo "[test] lint"
npx eslint .
npx tsx scripts/run-tests.ts "$@"
