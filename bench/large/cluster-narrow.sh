#!/bin/bash
# 2-worker local cluster vs embedded on a narrow resnet18 (width 1/16), HESSIAN_WORKER_MEMORY=4G.
cd "$(dirname "$0")/../.." && mkdir -p /tmp/lc
export HESSIAN_WORKER_MEMORY=4G
M='zoo:resnet18?width=0.0625'
ARGS=(--model "$M" --data 'fashion-mnist:train[0:64]' --batch-size 16 --layers middle --top-k 2 --eig-max-iter 30 --trace-probes 20 --trace-chunk 10 --density-runs 1 --density-steps 20 --seed 3 --format json -q)
t0=$(date +%s)
./hessctl cluster up --workers 2 --dir /tmp/lc/c --port 0 --nats-port 0 --metrics-port -1 --backend native --timeout 300 --format json > /tmp/lc/up.json 2> /tmp/lc/up.err || { echo "cluster up failed"; exit 1; }
SERVER=$(node -e "console.log(require('/tmp/lc/up.json').server)")
echo "server $SERVER"
t1=$(date +%s)
./hessctl analyze "${ARGS[@]}" --server $SERVER > /tmp/lc/cluster.json 2> /tmp/lc/cluster.err; echo "cluster rc $?"
t2=$(date +%s)
for f in /tmp/lc/c/logs/*worker*; do echo "$f"; done
for pid in $(node -e "for (const p of require('/tmp/lc/up.json').processes) if (p.role==='worker') console.log(p.pid)"); do grep -E "VmHWM|VmRSS" /proc/$pid/status | tr "\n" " "; echo " pid $pid"; done > /tmp/lc/worker-rss.txt
./hessctl cluster down --dir /tmp/lc/c > /dev/null 2>&1
./hessctl analyze "${ARGS[@]}" --embedded --backend native > /tmp/lc/embedded.json 2> /tmp/lc/embedded.err; echo "embedded rc $?"
t3=$(date +%s)
echo "{\"clusterS\": $((t2-t1)), \"embeddedS\": $((t3-t2)), \"upS\": $((t1-t0))}" > /tmp/lc/times.json
