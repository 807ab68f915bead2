#!/bin/bash
# Bytes and seconds of the data-parallel operator at full width: zoo:resnet18 (11,172,810
# parameters, 44.7 MB per float32 vector) with --scope dataset on a 2-worker local cluster
# (native backend), 8 Fashion-MNIST images in 2 and in 4 shards, 4 full-network products each.
# The coordinator logs per task what its operators moved ('dataset task done': products,
# bytesOut, bytesIn, seconds inside matvec); each worker logs per Hvp stream its compute seconds
# ('hvp stream done'). Summarize with: node bench/large/traffic-summary.mjs
cd "$(dirname "$0")/../.." || exit 1
LT=${LT:-/tmp/lt}
rm -rf "$LT" && mkdir -p "$LT"
uptime > "$LT/load-start.txt"
./hessctl cluster up --workers 2 --dir "$LT/c" --port 0 --nats-port 0 --metrics-port -1 --backend native --timeout 300 --format json > "$LT/up.json" 2> "$LT/up.err" || { echo "cluster up failed"; exit 1; }
SERVER=$(node -e "console.log(require('$LT/up.json').server)")
for S in 2 4; do
  /usr/bin/time -f '{"wallS": %e}' -o "$LT/time-$S.json" ./hessctl analyze --server "$SERVER" --scope dataset --shards $S --model zoo:resnet18 \
    --data 'fashion-mnist:train[0:8]' --batch-size 2 --layers fc --no-trace --no-density --top-k 1 --eig-max-iter 4 --eig-tol 1e-12 --exact-max 0 --seed 1 \
    --format json -q > "$LT/report-$S.json" 2> "$LT/analyze-$S.err"; echo "shards $S rc $?"
done
for pid in $(node -e "for (const p of require('$LT/up.json').processes) if (p.role==='worker') console.log(p.pid)"); do grep VmHWM /proc/$pid/status; done > "$LT/worker-hwm.txt"
cp "$LT"/c/logs/* "$LT/" 2>/dev/null
./hessctl cluster down --dir "$LT/c" > /dev/null 2>&1
uptime > "$LT/load-end.txt"
