#!/bin/bash
# The showcase's sweep at a width this machine can run: a short resnet18 training run
# (width 1/16: 44,550 parameters, 4 epochs on 1024 Fashion-MNIST images, 5 checkpoints with
# epoch-000) swept on a 2-worker local cluster (HESSIAN_WORKER_MEMORY=4G, native backend).
# Scratch in ${LS:-/tmp/ls}; summarize with: node bench/large/sweep-narrow-summary.mjs
# Run it in the background (nice -n 19): tens of minutes on a shared 2-core machine.
cd "$(dirname "$0")/../.." || exit 1
LS=${LS:-/tmp/ls}
rm -rf "$LS" && mkdir -p "$LS"
export HESSIAN_WORKER_MEMORY=4G
M='zoo:resnet18?width=0.0625'
ANALYSIS=(--data 'fashion-mnist:train[0:64]' --batch-size 16 --layers middle --top-k 2 --eig-max-iter 30 --trace-probes 20 --trace-chunk 10 --density-runs 1 --density-steps 20 --seed 3)
uptime > "$LS/load-start.txt"
t0=$(date +%s)
/usr/bin/time -f '{"wallS": %e, "cpuS": %U, "sysS": %S, "maxRssKB": %M}' -o "$LS/train-time.json" \
  ./hessctl train --model "$M" --data 'fashion-mnist:train[0:1024]' --test-data 'fashion-mnist:test[0:512]' \
  --epochs 4 --batch-size 64 --lr 0.05 --momentum 0.9 --seed 0 --backend native --out "$LS/run" --format json -q \
  > "$LS/train.json" 2> "$LS/train.err" || { echo "train failed"; exit 1; }
t1=$(date +%s)
./hessctl cluster up --workers 2 --dir "$LS/c" --port 0 --nats-port 0 --metrics-port -1 --backend native --timeout 300 --format json > "$LS/up.json" 2> "$LS/up.err" || { echo "cluster up failed"; exit 1; }
SERVER=$(node -e "console.log(require('$LS/up.json').server)")
t2=$(date +%s)
./hessctl sweep --run "$LS/run" --out "$LS/sweep" "${ANALYSIS[@]}" --server "$SERVER" -q > "$LS/sweep.out" 2> "$LS/sweep.err"; echo "sweep rc $?" > "$LS/sweep.rc"
t3=$(date +%s)
for pid in $(node -e "for (const p of require('$LS/up.json').processes) if (p.role==='worker') console.log(p.pid)"); do
  hwm=$(grep VmHWM /proc/$pid/status | awk '{print $2}')
  cpu=$(awk '{print $14 + $15}' /proc/$pid/stat)
  echo "{\"pid\": $pid, \"vmHwmKB\": $hwm, \"cpuTicks\": $cpu, \"ticksPerS\": $(getconf CLK_TCK)}"
done > "$LS/workers.jsonl"
cp "$LS"/c/logs/*worker* "$LS/" 2>/dev/null
./hessctl cluster down --dir "$LS/c" > /dev/null 2>&1
uptime > "$LS/load-end.txt"
echo "{\"trainS\": $((t1-t0)), \"upS\": $((t2-t1)), \"sweepS\": $((t3-t2))}" > "$LS/times.json"
