#!/usr/bin/env bash
# The README's first command: set up, then run an embedded analysis (no cluster, no NATS)
# of the zoo's LeNet on 256 Fashion-MNIST training images, writing reports/demo.
# Through ./hessctl, so it runs as users run it (the wrapper sets the allocator: see hessctl).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "demo: the Hessian of zoo:lenet at its seeded initial weights (untrained: loss about ln 10 = 2.30) on 256 Fashion-MNIST images" >&2
./hessctl analyze --model zoo:lenet --data 'fashion-mnist:train[0:256]' --workers 2 --out reports/demo "$@"
echo "demo: that network is untrained; for a trained one: ./hessctl train --model zoo:lenet --data 'fashion-mnist:train[0:5000]' --test-data 'fashion-mnist:test[0:1000]' --epochs 3 --out runs/lenet (a few minutes), then ./hessctl sweep --run runs/lenet --out reports/lenet-sweep" >&2
