#!/usr/bin/env bash
# The test command of the README: sets up (npm ci, build, data set), lints, then runs every
# package's tests with Node's built-in runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
files=$(find packages/*/dist/test test/dist -name '*.test.js' 2>/dev/null | sort)
exec node --test --test-concurrency=2 $files
