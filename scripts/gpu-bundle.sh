#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has no network (so no `npm ci`) and may have no
# Node or Vulkan loader, into one git-ignored folder small enough to carry beside the working tree:
#
#   .gpu-bundle/node_modules.tar.xz   the installed packages less what a run never loads: dev tools (biome,
#                                     typescript, playwright), Dawn builds for other platforms, source maps,
#                                     type declarations, and tfjs's browser bundles (Node loads dist/*.node.js)
#   .gpu-bundle/node.xz               this machine's node binary (used only when the GPU machine has no Node >= 20.19)
#   .gpu-bundle/lib/libvulkan.so.1    the Vulkan loader (used only when the GPU machine has none)
#
# Run from the repository root after `npm ci`: scripts/gpu-bundle.sh   (about 2 minutes on 2 cores)
# scripts/gpu-check.sh unpacks it when node_modules/ is missing. Prints the bundle's size (carry limit 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-bundle
[ -d node_modules/@tensorflow/tfjs ] || { echo "gpu-bundle: run npm ci first" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "gpu-bundle: packs linux-x64 binaries; run it on an x86_64 Linux machine" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/lib"

# Packages whose files a run loads: everything but the dev tools. Inside @tensorflow/*, Node loads only
# package.json's main (dist/*.node.js) and the wasm backend's .wasm files.
find node_modules \
  \( -path node_modules/@biomejs -o -path node_modules/typescript -o -path node_modules/playwright-core \
     -o -path node_modules/core-js -o -path node_modules/@types \
     -o -path node_modules/webgpu/dist/darwin-universal -o -path node_modules/webgpu/dist/linux-arm64 \
     -o -path 'node_modules/webgpu/dist/win32-*' -o -path node_modules/.cache \) -prune \
  -o \( -type f -o -type l \) -print \
  | awk '/\.map$|\.d\.[cm]?ts$/ { next }
         /^node_modules\/@tensorflow\/[^\/]+\// && !/^node_modules\/@tensorflow\/[^\/]+\/(package\.json|dist\/[^\/]+\.node\.js|dist\/[^\/]+\.wasm|node_modules\/.*)$/ { next }
         { print }' >"$out/files.txt"
tar -cf - --no-recursion -T "$out/files.txt" | xz -6 -T0 >"$out/node_modules.tar.xz"
rm "$out/files.txt"

xz -6 -T0 -c "$(command -v node)" >"$out/node.xz"

loader=""
for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
  [ -e "$d/libvulkan.so.1" ] && { loader="$d/libvulkan.so.1"; break; }
done
if [ -n "$loader" ]; then cp -L "$loader" "$out/lib/libvulkan.so.1"; else echo "gpu-bundle: no libvulkan.so.1 here (apt-get install libvulkan1); the bundle has no loader" >&2; fi

node -e 'console.log(process.version)' >"$out/node.version"
ls -l "$out" "$out/lib"
echo "gpu-bundle: $(du -sb "$out" | cut -f1) bytes in $out (carry limit 67108864)"
