#!/usr/bin/env bash
# The README's first command: set up, then run an embedded analysis (no cluster, no NATS)
# of the zoo's LeNet on 256 Fashion-MNIST training images, writing reports/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node packages/client/dist/src/cli.js analyze --model zoo:lenet --data 'fashion-mnist:train[0:256]' --workers 2 --out reports/demo "$@"
