#!/usr/bin/env bash
# One-go check of vpt's WebGPU engine on a GPU runner (an NVIDIA driver; CUDA 12 is fine, WebGPU needs only
# its Vulkan ICD). Run from the repository root after `npm ci`:
#
#   scripts/gpu-check.sh [out-dir]            # default out-dir: runs/gpu-check
#
# Steps (each logged to <out-dir>/<step>.log; a summary at the end, exit 1 if any step failed):
#   1. vulkan    the Vulkan loader (libvulkan1, installed with apt-get when missing) and the driver's ICD JSON,
#                exported as VK_DRIVER_FILES / VK_ICD_FILENAMES unless already set
#   2. select    backend selection on the real adapter: `auto` must pick webgpu on a hardware (not software) adapter
#   3. agree     the cross-backend agreement test (test/webgpu.test.ts: losses, gradients, V, decoding, loss
#                trajectories against wasm), required to run, not skip
#   4. bench     `vpt bench` of the baseline and v-pretraining learner steps at the reference preset (vocab 96,
#                width 128, 2 blocks, sequence 64, batch 16) and the gpu preset (width 512, 8 blocks,
#                sequence 256, batch 32), with PyTorch on the same GPU beside it when `torch` imports with CUDA;
#                and the reference preset on wasm (this machine's CPU, one thread) for scale
# Environment: GPU_CHECK_REPEATS (default 3), GPU_CHECK_STEPS (default 8), GPU_CHECK_PRESETS (default
# "reference gpu"), VPT_PYTHON (the PyTorch interpreter); GPU_CHECK_SOFTWARE=1 accepts a software adapter in
# step 2 (a dry run of the script on lavapipe: VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/gpu-check}
mkdir -p "$out"
repeats=${GPU_CHECK_REPEATS:-3}
steps=${GPU_CHECK_STEPS:-8}
read -r -a presets <<<"${GPU_CHECK_PRESETS:-reference gpu}"
declare -A result
order=()

step() { # step <name> <command...>: runs, logs, records pass/fail
  local name=$1
  shift
  order+=("$name")
  echo "== $name: $*"
  if "$@" >"$out/$name.log" 2>&1; then result[$name]=passed; else result[$name]="FAILED (see $out/$name.log)"; fi
  tail -n 25 "$out/$name.log"
}

vulkan() {
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo_cmd="sudo -n"
  if ! ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 /usr/lib64/libvulkan.so.1 /usr/lib/libvulkan.so.1 >/dev/null 2>&1; then
    $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libvulkan1 || return 1
  fi
  if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
    local f
    for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
      [ -f "$f" ] && { export VK_ICD_FILENAMES=$f VK_DRIVER_FILES=$f; break; }
    done
  fi
  echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-} VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  [ -n "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] || { echo "no NVIDIA Vulkan ICD found: set VK_DRIVER_FILES to the driver's ICD JSON"; return 1; }
  return 0
}

select_adapter() {
  local line
  if [ "${GPU_CHECK_SOFTWARE:-0}" = 1 ]; then
    line=$(node --import tsx test/agreement/auto.ts webgpu | grep '^@@auto ') || return 1
    echo "${line#@@auto }"
    return 0
  fi
  line=$(node --import tsx test/agreement/auto.ts | grep '^@@auto ') || return 1
  echo "${line#@@auto }"
  node -e 'const e = JSON.parse(process.argv[1]); if (e.backend !== "webgpu" || !e.adapter || e.adapter.software) { console.error(`auto chose ${e.backend}${e.adapter ? " on " + e.adapter.name : ""}: expected webgpu on a hardware adapter`); process.exit(1); }' "${line#@@auto }"
}

agree() {
  printf '{"import":"tsx","spec":["test/webgpu.test.ts"],"timeout":1200000,"reporter":"spec"}\n' >"$out/mocharc.json"
  VPT_REQUIRE_WEBGPU=1 npx mocha --config "$out/mocharc.json"
}

bench() {
  npx vpt bench --preset "${presets[@]}" --arms v-pretraining --backend webgpu --repeats "$repeats" --steps "$steps" --warmup 3 \
    --torch auto --torch-device cuda --json "$out/bench-webgpu.json" | tee "$out/bench-webgpu.md" &&
    npx vpt bench --preset reference --arms v-pretraining --backend wasm --repeats "$repeats" --steps "$steps" --torch off \
      --json "$out/bench-wasm.json" | tee "$out/bench-wasm.md"
}

step vulkan vulkan # a function with a redirection runs in this shell: its exports stay
step select select_adapter
step agree agree
step bench bench

echo
echo "== gpu-check summary ($out)"
failed=0
for s in "${order[@]}"; do
  echo "  $s: ${result[$s]}"
  [ "${result[$s]}" = passed ] || failed=1
done
exit "$failed"
