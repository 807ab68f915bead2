#!/usr/bin/env bash
# The test command of the README: sets up (npm ci, build, data set, native addon), lints,
# then runs every package's and service's tests with Node's built-in runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
mapfile -t files < <(find packages/*/dist/test services/*/dist/test deploy/dist/test experiments/*/dist/test -name '*.test.js' 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "test: no test files found under packages/*/dist/test" >&2; exit 1; fi
if [ -x /usr/bin/python3 ]; then /usr/bin/python3 examples/python/test_client.py; fi # Python client vs a local cluster (skips without python3-grpcio)
# A line per test, failures in full, and "N tests: N passed, N failed, N skipped" at the end
# (scripts/test-reporter.mjs; what passing tests print stays out); the full TAP stream goes to
# test-results.tap. Node's exit code is the command's.
exec node --test --test-concurrency=2 \
  --test-reporter=./scripts/test-reporter.mjs --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=test-results.tap \
  "${files[@]}"
