#!/usr/bin/env bash
# The GPU benchmark, run on the GPU machine from the unpacked bundle (see README.md):
#   tar xJf hessian-gpu-bench.tar.xz && hessian-gpu-bench/run.sh [RESULTS_DIR]
# Needs only the NVIDIA driver (with its Vulkan ICD), python3 with PyTorch (CUDA), and what the
# bundle carries: Node, the bundled engine, Dawn's dawn.node, Debian's Vulkan loader, the data.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/results}
mkdir -p "$OUT"
export PATH="$HERE/node/bin:$PATH"
export LD_LIBRARY_PATH="$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The NVIDIA Vulkan driver's manifest, wherever this machine's driver installation put it.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES="$f"; break; fi
  done
fi
echo "node $(node --version); VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}" | tee "$OUT/env.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" 2>&1 || echo "nvidia-smi failed" > "$OUT/gpu.txt"
PY=${PYTHON:-python3}
MODELS=${MODELS:-"lenet resnet-mini"}
BATCHES=${BATCHES:-"128 1024"}
REPS=${REPS:-20}
for model in $MODELS; do
  for batch in $BATCHES; do
    case_dir="$OUT/${model}__${batch}"
    mkdir -p "$case_dir"
    echo "== $model batch $batch: webgpu"
    timeout "${CASE_TIMEOUT:-240}" node "$HERE/hvp.mjs" --model "$model" --batch "$batch" --data "$HERE/data" --dir "$case_dir" --reps "$REPS" --budget-ms "${BUDGET_MS:-6000}" ${PROFILE:+--profile} > "$case_dir/ours.log" 2>&1
    echo "   rc=$? $(grep '^RESULT' "$case_dir/ours.log" | cut -c1-160)"
    grep -v '^RESULT' "$case_dir/ours.log" | grep -iv 'warning:' | tail -5
    echo "== $model batch $batch: torch cuda"
    timeout "${CASE_TIMEOUT:-240}" "$PY" "$HERE/torch_hvp.py" --dir "$case_dir" --device cuda --reps "$REPS" --budget-ms "${BUDGET_MS:-6000}" > "$case_dir/torch.log" 2>&1
    echo "   rc=$? $(grep '^RESULT' "$case_dir/torch.log" | cut -c1-160)"
    grep -v '^RESULT' "$case_dir/torch.log" | tail -3
    # the same products without TF32 (torch's default uses it in cuDNN): the accuracy check
    timeout "${CASE_TIMEOUT:-240}" "$PY" "$HERE/torch_hvp.py" --dir "$case_dir" --device cuda --tf32 off --reps 3 --budget-ms 2000 > "$case_dir/torch-notf32.log" 2>&1
    echo "   no TF32: rc=$? $(grep '^RESULT' "$case_dir/torch-notf32.log" | grep -o '"compare": {[^}]*}}')"
    # keep the results small: the inputs can be regenerated
    rm -f "$case_dir"/*.bin
  done
done
node "$HERE/summarize.mjs" "$OUT"
