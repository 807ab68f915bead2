#!/usr/bin/env bash
# Idempotent set-up for a fresh clone, called by `npm run demo` and `npm test`:
#   1. Node 20+;  2. npm ci when node_modules is missing or stale;  3. the Fashion-MNIST
#   data set (Debian package dataset-fashion-mnist; installed with apt when running as root);
#   4. the native OpenBLAS addon when a compiler and OpenBLAS are there (optional);  5. tsc -b.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'setup: %s\n' "$*" >&2; }

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then say "Node.js 20 or newer is needed (found $(node --version 2>/dev/null || echo none)); install it and run again."; exit 1; fi

apt_install() { # packages...
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing $* with apt-get"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
    return 0
  fi
  return 1
}

# Data set first: it does not depend on anything else.
fmnist=${HESSIAN_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
if [ ! -e "$fmnist/train-images-idx3-ubyte.gz" ] && [ ! -e "$fmnist/train-images-idx3-ubyte" ]; then
  apt_install dataset-fashion-mnist || { say "Fashion-MNIST is missing from $fmnist: run 'sudo apt-get install dataset-fashion-mnist' (or set HESSIAN_FASHION_MNIST to a folder with the IDX files) and run again."; exit 1; }
fi

# The native backend needs a C++ compiler and OpenBLAS; without them everything still works, slower.
if [ ! -e /usr/include/x86_64-linux-gnu/cblas.h ] && [ ! -e /usr/include/cblas.h ] && [ ! -e /usr/include/openblas/cblas.h ]; then
  apt_install libopenblas-dev g++ make || say "warning: OpenBLAS headers not found; the fast 'native' backend will be skipped (install libopenblas-dev, g++ and make for it)."
fi

# The Python client example (examples/python) and its test need Debian's gRPC for Python (no PyPI here).
if ! /usr/bin/python3 -c 'import grpc, grpc_tools' >/dev/null 2>&1; then
  apt_install python3-grpcio python3-grpc-tools || say "note: python3-grpcio / python3-grpc-tools not installed; the Python client test will skip (apt-get install python3-grpcio python3-grpc-tools)."
fi

# The cluster (services/coordinator, services/worker) and its tests need nats-server with JetStream (Debian's 2.9).
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  apt_install nats-server || say "warning: nats-server not found; the cluster services and their tests need it (apt-get install nats-server)."
fi

# The webgpu backend's tests run on Mesa's CPU Vulkan driver (lavapipe). Dawn needs Mesa 23 or
# newer (bookworm's 22.3 lacks a Vulkan feature it requires), so on bookworm it comes from
# bookworm-backports. Without it the webgpu tests skip (unless HESSIAN_WEBGPU_REQUIRED=1).
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    if [ "$codename" = bookworm ]; then
      list=/etc/apt/sources.list.d/hessian-bookworm-backports.list
      if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$list"
      fi
      say "installing mesa-vulkan-drivers (lavapipe) from bookworm-backports"
      apt-get update -qq >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null 2>&1 \
        || say "warning: could not install mesa-vulkan-drivers from bookworm-backports; the webgpu tests will skip."
    else
      apt_install mesa-vulkan-drivers libvulkan1 || say "warning: no Vulkan driver; the webgpu tests will skip (apt-get install mesa-vulkan-drivers, Mesa 23 or newer)."
    fi
  else
    say "note: no Vulkan driver found; the webgpu backend's tests will skip (install Mesa 23+'s mesa-vulkan-drivers for lavapipe, e.g. apt-get install -t bookworm-backports mesa-vulkan-drivers)."
  fi
fi

stamp=node_modules/.package-lock.json
if [ ! -d node_modules ] || [ ! -e "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# npm ci builds the addon through the package's install script but hides its output; build
# again visibly when it is missing (e.g. OpenBLAS was installed after npm ci). Never fatal.
if ! ls packages/native/build/Release/*.node >/dev/null 2>&1; then
  npm run --silent build:addon -w @hessian/native >&2 || true
fi

say "building (tsc -b)"
npx --no-install tsc -b >&2
node -e "import('@hessian/native').then(m => process.stderr.write(m.default.available ? 'setup: native backend available\n' : 'setup: warning: native backend unavailable (' + m.default.reason + '); analyses run on slower backends\n'))" || true
