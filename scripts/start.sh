#!/usr/bin/env bash
# npm start: set up what is missing, then run the whole stack in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tsx scripts/stack.ts
