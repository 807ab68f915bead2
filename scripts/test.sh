#!/usr/bin/env bash
# The test command of the README: sets up (npm ci, build, data set, native addon), lints,
# then runs every package's and service's tests with Node's built-in runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
mapfile -t files < <(find packages/*/dist/test services/*/dist/test deploy/dist/test experiments/*/dist/test -name '*.test.js' 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "test: no test files found under packages/*/dist/test" >&2; exit 1; fi
exec node --test --test-concurrency=2 "${files[@]}"
