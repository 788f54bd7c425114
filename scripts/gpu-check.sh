#!/usr/bin/env bash
# One-go check of vpt's WebGPU engine on a GPU machine (an NVIDIA driver; CUDA 12 is fine, WebGPU needs only
# the driver's Vulkan ICD). Works offline: with no node_modules/ it unpacks .gpu-bundle/ (scripts/gpu-bundle.sh:
# the packages, a node binary, the Vulkan loader), so a copy of the working tree plus that one folder suffices.
#
#   scripts/gpu-check.sh [out-dir]            # default out-dir: $OUT, else runs/gpu-check
#
# Steps, each logged to <out-dir>/<step>.log and time-boxed so the whole run ends within GPU_CHECK_BUDGET_S:
#   0. diag      what the machine offers (printed first, so one failed run still says what to fix): GPU and
#                driver (nvidia-smi), Vulkan ICD files and the NVIDIA Vulkan libraries, loader, Node, Python/torch
#   1. setup     node (system >= 20.19, else the bundle's), node_modules (else unpacked from the bundle), the
#                Vulkan loader (else the bundle's, on LD_LIBRARY_PATH), the NVIDIA ICD exported as
#                VK_ICD_FILENAMES / VK_DRIVER_FILES (written from libGLX_nvidia.so.0 when no ICD file exists)
#   2. select    backend selection on the real adapter: `auto` must pick webgpu on a hardware adapter
#   3. agree     the cross-backend agreement test (test/webgpu.test.ts: losses, gradients, V, decoding, loss
#                trajectories against wasm, a suite end to end on webgpu), required to run, not skip
#   4. bench-gpu `vpt bench` of the baseline and v-pretraining learner steps at the gpu preset (vocab 96,
#                width 512, 8 blocks, sequence 256, batch 32; 25M parameters) on webgpu
#   5. bench-ref the same at the reference preset (width 128, 2 blocks, sequence 64, batch 16) on wasm (this
#                CPU, one thread) and webgpu side by side
#                Both benches put PyTorch on the same GPU beside vpt when `torch` imports with CUDA.
#
# With GPU_CHECK_PARTS=torch (or webgpu,torch) the PyTorch engine's checks run instead of (or after) steps 2-5:
#   6. bench-qwen  `vpt bench --trainer torch --torch-device cuda` of the baseline and v-pretraining at
#                  Qwen2.5-0.5B's configuration (random weights), the LoRA and the full-parameter branch: the
#                  overhead table and MFU (more arms: GPU_CHECK_QWEN_ARMS, comma-separated)
#   7. torch-tests the engine's pytest suite on this machine's torch, with CUDA and, where installed, transformers,
#                  peft and safetensors (the tests CI skips: learner steps that never wait for the host, float32 on
#                  the GPU against the CPU, the built-in Qwen2/Qwen3/LLaMA and LoRA against transformers and peft)
# Results (8 files): <out-dir>/summary.txt and summary.json (per step: status, seconds; the adapter), diag.txt,
# logs.txt (every step's log), bench.md with bench-gpu.json and bench-reference.json, agreement.json (the
# measured differences between webgpu and wasm beside the test's tolerances); the torch part adds bench-qwen.json
# (and bench-qwen.md into bench.md).
# Environment: GPU_CHECK_BUDGET_S (default 450), GPU_CHECK_REPEATS (default 2), GPU_CHECK_STEPS (default 8),
# GPU_CHECK_PARTS (webgpu, torch or both, comma-separated; default webgpu),
# VPT_PYTHON (the PyTorch interpreter), GPU_CHECK_CAP_SCALE (multiplies each step's time cap; default 1),
# GPU_CHECK_NODE=bundle (use the bundle's node even if one is installed); GPU_CHECK_SOFTWARE=1 accepts a software adapter in step 2 (a dry run on
# lavapipe: VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${1:-${OUT:-runs/gpu-check}}
mkdir -p "$out"
out=$(cd "$out" && pwd)
t_start=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-450}
repeats=${GPU_CHECK_REPEATS:-2}
steps=${GPU_CHECK_STEPS:-8}
bundle=$repo/.gpu-bundle
parts=",${GPU_CHECK_PARTS:-webgpu},"
wants() { case $parts in *",$1,"*) return 0 ;; esac; return 1; }
# Scratch (per-step logs, the ICD file, mocha's config) lives outside the out folder, which keeps 8 files:
# diag.txt, logs.txt, bench.md, bench-gpu.json, bench-reference.json, agreement.json, summary.txt, summary.json.
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
declare -A result seconds
order=()

left() { echo $((budget - ($(date +%s) - t_start))); }

# step <name> <cap-seconds> <function>: runs it under a time limit (the cap, or what is left of the budget),
# logs it, records passed / FAILED / TIMED OUT / SKIPPED.
step() {
  local name=$1 cap=$2 fn=$3 limit rc t0
  order+=("$name")
  limit=$(left)
  cap=$((cap * ${GPU_CHECK_CAP_SCALE:-1}))
  [ "$cap" -lt "$limit" ] && limit=$cap
  if [ "$limit" -lt 15 ]; then
    result[$name]="SKIPPED (budget spent)"; seconds[$name]=0
    echo "== $name: skipped, $(left) s of the budget left"
    return
  fi
  echo "== $name (limit ${limit}s)"
  t0=$(date +%s)
  GPU_CHECK_LIMIT=$limit "$fn" >"$work/$name.log" 2>&1
  rc=$?
  seconds[$name]=$(($(date +%s) - t0))
  case $rc in
    0) result[$name]=passed ;;
    124 | 137) result[$name]="TIMED OUT after ${limit}s (see logs.txt)" ;;
    *) result[$name]="FAILED, exit $rc (see logs.txt)" ;;
  esac
  tail -n 30 "$work/$name.log"
  echo "-- $name: ${result[$name]} (${seconds[$name]} s)"
  { echo "===== $name: ${result[$name]} (${seconds[$name]} s)"; cat "$work/$name.log"; } >>"$out/logs.txt"
}

# A command under the step's limit (the TERM reaches the whole process group of the command).
limited() { timeout --kill-after=10 "${GPU_CHECK_LIMIT:-300}" "$@"; }

diag() {
  echo "date: $(date -u +%FT%TZ)  host: $(hostname)  user: $(id -un 2>/dev/null || id -u)"
  echo "os: $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null)  kernel: $(uname -r)  glibc: $(ldd --version 2>/dev/null | head -n 1)"
  echo "cpus: $(nproc)  memory: $(free -g 2>/dev/null | awk '/Mem:/ {print $2 " GiB"}')  disk: $(df -h . | awk 'NR==2 {print $4 " free"}')"
  echo "libstdc++ GLIBCXX_3.4.30 (dawn.node needs it): $(grep -ac 'GLIBCXX_3\.4\.30' "$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 / {print $NF; exit}')" 2>/dev/null || echo 'not found')"
  echo "NVIDIA_VISIBLE_DEVICES=${NVIDIA_VISIBLE_DEVICES:-} NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-} (Vulkan in a container needs 'graphics' or 'all')"
  echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-} VK_DRIVER_FILES=${VK_DRIVER_FILES:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "--- nvidia-smi"
  if command -v nvidia-smi >/dev/null; then
    timeout 30 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1
    timeout 30 nvidia-smi 2>&1 | head -n 12
  else
    echo "no nvidia-smi"
  fi
  ls -l /dev/nvidia* /dev/dri 2>&1 | head -n 12
  echo "--- Vulkan ICD files"
  local d f
  for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/share/vulkan/implicit_layer.d /etc/vulkan/implicit_layer.d; do
    [ -d "$d" ] && for f in "$d"/*.json; do [ -e "$f" ] && { echo "$f:"; tr -s ' \n' ' ' <"$f"; echo; }; done
  done
  timeout 20 find /usr /etc /opt -maxdepth 6 -name 'nvidia_icd*.json' 2>/dev/null | head -n 5 | sed 's/^/found: /'
  echo "--- NVIDIA user-space libraries (the Vulkan ICD is libGLX_nvidia.so.0 and needs libnvidia-glcore, -glsi, -glvkspirv, -gpucomp)"
  ldconfig -p 2>/dev/null | grep -Ei 'libGLX_nvidia|libnvidia-(glcore|glsi|glvkspirv|gpucomp|tls|vulkan)|libvulkan|libcuda\.so' | head -n 20
  ls /usr/local/nvidia/lib64 /usr/local/nvidia/lib 2>/dev/null | grep -Ei 'GLX_nvidia|glcore|glsi|glvkspirv|gpucomp|vulkan' | head -n 12 | sed 's|^|/usr/local/nvidia: |'
  echo "--- Node, Python"
  echo "node: $(command -v node || echo none) $(node --version 2>/dev/null)"
  echo "node_modules: $([ -d node_modules/@tensorflow/tfjs ] && echo present || echo absent)  bundle: $(ls "$bundle" 2>/dev/null | tr '\n' ' ')"
  local py seen=""
  for py in "${VPT_PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$py" ] && command -v "$py" >/dev/null || continue
    case " $seen " in *" $(readlink -f "$(command -v "$py")") "*) continue ;; esac
    seen="$seen $(readlink -f "$(command -v "$py")")"
    echo "$py: $("$py" --version 2>&1)"
    timeout 45 "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>&1 | tail -n 1
  done
  return 0
}

# xz-compressed file to stdout: xz if present, else Python's lzma.
unxz_to() {
  if command -v xz >/dev/null; then xz -dc "$1"
  elif command -v python3 >/dev/null; then python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"
  else echo "no xz and no python3 to unpack $1" >&2; return 1
  fi
}

node_ok() { # node on PATH, version >= 20.19 (GPU_CHECK_NODE=bundle: use the bundle's regardless)
  [ "${GPU_CHECK_NODE:-}" = bundle ] && return 1
  command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null
}

has_loader() {
  local d ld=${LD_LIBRARY_PATH:-}
  for d in ${ld//:/ } /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib64 /usr/local/lib; do
    [ -e "$d/libvulkan.so.1" ] && return 0
  done
  ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '
}

setup() {
  if ! node_ok; then
    [ -f "$bundle/node.xz" ] || { echo "no Node >= 20.19 here and no $bundle/node.xz (scripts/gpu-bundle.sh)"; return 1; }
    mkdir -p "$bundle/bin"
    unxz_to "$bundle/node.xz" >"$bundle/bin/node" && chmod +x "$bundle/bin/node" || return 1
    echo "node: the bundle's $("$bundle/bin/node" --version)"
  else
    echo "node: $(command -v node) $(node --version)"
  fi
  if [ ! -d node_modules/@tensorflow/tfjs ]; then
    [ -f "$bundle/node_modules.tar.xz" ] || { echo "no node_modules/ and no $bundle/node_modules.tar.xz (scripts/gpu-bundle.sh)"; return 1; }
    unxz_to "$bundle/node_modules.tar.xz" | tar -xf - || return 1
    echo "node_modules: unpacked from the bundle ($(du -sh node_modules | cut -f1))"
  fi
  wants webgpu || return 0  # the torch part needs Node and the packages, not Vulkan
  if ! has_loader; then
    [ -f "$bundle/lib/libvulkan.so.1" ] || { echo "no Vulkan loader (libvulkan.so.1) here and none in the bundle"; return 1; }
    echo "Vulkan loader: the bundle's ($bundle/lib/libvulkan.so.1)"
  fi
  if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
    local f
    for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
      /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json /usr/local/share/vulkan/icd.d/nvidia_icd.json; do
      [ -f "$f" ] && { echo "$f" >"$work/icd.path"; break; }
    done
    if [ ! -s "$work/icd.path" ]; then
      # Containers started without the 'graphics' capability may still have the driver's Vulkan library.
      local lib
      lib=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0 / {print $NF; exit}')
      [ -z "$lib" ] && lib=$(find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 -maxdepth 3 -name 'libGLX_nvidia.so.0' 2>/dev/null | head -n 1)
      if [ -n "$lib" ]; then
        printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$lib" >"$work/nvidia_icd.json"
        echo "$work/nvidia_icd.json" >"$work/icd.path"
        echo "no NVIDIA ICD file: wrote $work/nvidia_icd.json for $lib"
      else
        echo "no NVIDIA Vulkan ICD file and no libGLX_nvidia.so.0: the driver's Vulkan part is not on this machine (in a container: NVIDIA_DRIVER_CAPABILITIES must include graphics)"
        return 1
      fi
    fi
  fi
  return 0
}

select_adapter() {
  local line
  line=$(limited node --import tsx test/agreement/auto.ts webgpu | tee /dev/stderr | grep '^@@auto ') || { echo "webgpu could not be selected"; return 1; }
  echo "webgpu: ${line#@@auto }"
  echo "${line#@@auto }" >"$work/adapter.json"
  [ "${GPU_CHECK_SOFTWARE:-0}" = 1 ] && return 0
  line=$(limited node --import tsx test/agreement/auto.ts | grep '^@@auto ') || return 1
  echo "auto: ${line#@@auto }"
  node -e 'const e = JSON.parse(process.argv[1]); if (e.backend !== "webgpu" || !e.adapter || e.adapter.software) { console.error(`auto chose ${e.backend}${e.adapter ? " on " + e.adapter.name : ""}: expected webgpu on a hardware adapter`); process.exit(1); }' "${line#@@auto }"
}

agree() {
  printf '{"import":"tsx","spec":["test/webgpu.test.ts"],"timeout":600000,"reporter":"spec"}\n' >"$work/mocharc.json"
  VPT_REQUIRE_WEBGPU=1 VPT_AGREEMENT_OUT="$out/agreement.json" limited node node_modules/mocha/bin/mocha.js --config "$work/mocharc.json"
}

bench_ref() {
  limited node harness/cli/bin.js bench --preset reference --arms v-pretraining --backend wasm,webgpu --repeats "$repeats" --steps "$steps" --warmup 3 \
    --torch auto --torch-device cuda --json "$out/bench-reference.json" >"$work/bench-reference.md"
  local rc=$?
  cat "$work/bench-reference.md"
  cat "$work/bench-reference.md" >>"$out/bench.md"
  return $rc
}

bench_gpu() {
  limited node harness/cli/bin.js bench --preset gpu --arms v-pretraining --backend webgpu --repeats "$repeats" --steps "$steps" --warmup 3 \
    --torch auto --torch-device cuda --json "$out/bench-gpu.json" >"$work/bench-gpu.md"
  local rc=$?
  cat "$work/bench-gpu.md"
  cat "$work/bench-gpu.md" >>"$out/bench.md"
  return $rc
}

# The interpreter that holds PyTorch: VPT_PYTHON, else python3 (the harness's own choice when it is unset).
torch_python() { echo "${VPT_PYTHON:-python3}"; }

torch_tests() {
  local py xdist=()
  py=$(torch_python)
  "$py" -c 'import transformers, peft; print("transformers", transformers.__version__, "peft", peft.__version__)' 2>&1 | tail -n 1
  # pytest-xdist spreads the tests over the cores when it is installed (each test writes its own tmp folder).
  "$py" -c 'import xdist' 2>/dev/null && xdist=(-n "$(($(nproc) > 8 ? 8 : $(nproc)))")
  PYTHONPATH=harness/torch limited "$py" -m pytest -q -rs -p no:cacheprovider "${xdist[@]}" harness/torch/tests
}

bench_qwen() {
  limited node harness/cli/bin.js bench --trainer torch --torch-device cuda --python "$(torch_python)" --torch off \
    --preset qwen2.5-0.5b-lora qwen2.5-0.5b-full --arms "${GPU_CHECK_QWEN_ARMS:-v-pretraining}" \
    --repeats "$repeats" --steps "$steps" --warmup 2 --json "$out/bench-qwen.json" >"$work/bench-qwen.md"
  local rc=$?
  cat "$work/bench-qwen.md"
  cat "$work/bench-qwen.md" >>"$out/bench.md"
  return $rc
}

diag | tee "$out/diag.txt"
step setup 120 setup
# Exports the step's choices to every later step (step runs its function with its output in a log).
[ -x "$bundle/bin/node" ] && ! node_ok && export PATH="$bundle/bin:$PATH"
has_loader || export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The driver's libraries (the ICD names libGLX_nvidia.so.0 without a path) where a container mounts them.
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$d" ] && case ":${LD_LIBRARY_PATH:-}:" in *":$d:"*) ;; *) export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d" ;; esac
done
if wants webgpu && [ -s "$work/icd.path" ]; then
  VK_ICD_FILENAMES=$(cat "$work/icd.path")
  export VK_ICD_FILENAMES VK_DRIVER_FILES=$VK_ICD_FILENAMES
fi
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-} LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-} node=$(command -v node)" | tee -a "$out/diag.txt"
if [ "${result[setup]}" = passed ] && wants webgpu; then
  step select 90 select_adapter
  step agree 170 agree
  step bench-gpu 200 bench_gpu
  step bench-ref 150 bench_ref
fi
# The bench first: it is what a runner's table needs; the tests take what is left of the budget.
if [ "${result[setup]}" = passed ] && wants torch; then
  step bench-qwen 300 bench_qwen
fi
wants torch && step torch-tests 200 torch_tests

{
  echo "== gpu-check summary ($out; $(($(date +%s) - t_start)) s of a ${budget} s budget)"
  [ -s "$work/adapter.json" ] && echo "adapter: $(cat "$work/adapter.json")"
  for s in "${order[@]}"; do echo "  $s: ${result[$s]} (${seconds[$s]} s)"; done
} | tee "$out/summary.txt"
failed=0
json="{\"seconds\": $(($(date +%s) - t_start)), \"steps\": {"
sep=""
for s in "${order[@]}"; do
  json+="$sep\"$s\": {\"result\": \"${result[$s]}\", \"seconds\": ${seconds[$s]}}"
  sep=", "
  [ "${result[$s]}" = passed ] || failed=1
done
echo "$json}, \"adapter\": $(cat "$work/adapter.json" 2>/dev/null || echo null)}" >"$out/summary.json"
rm -rf "$work"
exit "$failed"
