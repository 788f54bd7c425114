#!/usr/bin/env bash
# The GPU-runner CI recipe (.github/workflows/suite.yml) run in sequence on one machine: every shard of a
# suite, the merge, the report, and the regression gate against a recorded baseline.
#
#   scripts/ci-suite.sh <suite> <baseline.json> [shards (default 2)] [out folder (default runs/ci-<suite>)]
#
# Extra `vpt run` flags (e.g. --backend webgpu, --workers 2) go in VPT_RUN_FLAGS. Exit status: that of
# `vpt compare --fail-on-regression` (0 nothing regressed, 1 regressed, 2 could not compare), or the first
# failing step's.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/ci-suite.sh <suite> <baseline.json> [shards] [out]" >&2
  exit 2
fi
suite=$1
baseline=$2
shards=${3:-2}
out=${4:-runs/ci-$(basename "$suite" .suite.ts)}
vpt() { node --import tsx harness/cli/main.ts "$@"; }
read -r -a run_flags <<< "${VPT_RUN_FLAGS:-}"

for i in $(seq 1 "$shards"); do
  echo "== shard $i/$shards"
  # A shard whose cells fail still leaves its records; the merge and the gate judge them.
  vpt run "$suite" --shard "$i/$shards" --out "$out/shard-$i" --move-aside "${run_flags[@]}" || [ $? -eq 1 ]
done
echo "== merge"
rm -rf "$out/merged"
vpt merge "$out"/shard-* --out "$out/merged"
echo "== report"
vpt report "$out/merged"
echo "== compare against $baseline"
vpt compare "$baseline" "$out/merged" --fail-on-regression
