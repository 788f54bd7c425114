#!/usr/bin/env bash
# What a fresh clone without ../shared/data sees: every test file loads (mocha --dry-run, with the real-data root
# pointed at a missing folder, so a file that reads data while it loads fails here), and every test that uses the
# real data skips with one line naming the missing files (test/helpers.ts sharedData) instead of failing.
# Exit 0 when both hold. Used by .ci/run.
set -uo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export VPT_SHARED_DATA="$scratch/no-shared-data"

if ! npx mocha --dry-run --reporter dot >"$scratch/load.log" 2>&1; then
  tail -n 20 "$scratch/load.log"
  # mocha reports the wrong error for a .ts file that fails to load (see scripts/load-test-files.ts): name the real one.
  npx tsx scripts/load-test-files.ts
  echo "fresh-clone check: the test files do not load without real data (above)"
  exit 1
fi
loaded=$(grep -Eo '[0-9]+ passing' "$scratch/load.log" | grep -Eo '[0-9]+')

# Real data is reached only through sharedData(); a test that names the folder itself would not skip.
direct=$(grep -ln "shared/data\|'shared'" test/*.ts | grep -v '^test/helpers.ts$')
if [ -n "$direct" ]; then
  echo "fresh-clone check: these test files name the real-data folder instead of calling sharedData(): $direct"
  exit 1
fi
mapfile -t files < <(grep -l 'sharedData(' test/*.test.ts)
npx mocha --no-config --import=tsx --timeout 600000 --reporter json --reporter-option output="$scratch/run.json" "${files[@]}" >"$scratch/run.log" 2>&1
node - "$scratch/run.json" "$loaded" <<'JS'
const fs = require('node:fs');
const [file, loaded] = process.argv.slice(2);
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const bad = [];
for (const t of r.failures) bad.push(`failed: ${t.fullTitle}: ${(t.err.message ?? '').split('\n')[0]}`);
for (const t of r.pending) if (!t.title.includes('[skipped: no real data:')) bad.push(`skipped without a reason: ${t.fullTitle}`);
if (bad.length) {
  console.log(bad.join('\n'));
  console.log(`fresh-clone check: ${bad.length} problem(s) without real data`);
  process.exit(1);
}
console.log(`fresh-clone check: ${loaded} tests load without real data; ${r.stats.passes} ran and ${r.pending.length} skipped, each naming what is missing`);
JS
