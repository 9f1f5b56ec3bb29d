#!/usr/bin/env bash
# CNN-1 28x28x1 training throughput: pfedlora (wasm and cpu backends, `pfedlora bench train`)
# and PyTorch CPU (scripts/bench-pytorch-cnn.py), back to back, then the ratios
# (docs/benchmarks.md, "Training engine"). `pfedlora bench train` now runs PyTorch itself in the
# same run (--threads, --python); this script keeps the older alternating repeats. No npm needed
# once built (node + python3-torch):
#
#   node node_modules/typescript/bin/tsc -b packages/cli      # once, if not built
#   bash scripts/results/bench-vs-pytorch.sh                 # writes runs/bench/*.json
#
# Environment: BATCHES (64,512), THREADS (PyTorch thread counts, 1,2), REPEATS (2: each
# side is run this many times, alternating, to see the noise), OUT (runs/bench),
# PYTHON (/usr/bin/python3: Debian's python3-torch), PFEDLORA.
set -euo pipefail
cd "$(dirname "$0")/../.."

BATCHES=${BATCHES:-64,512}
THREADS=${THREADS:-1,2}
REPEATS=${REPEATS:-2}
OUT=${OUT:-runs/bench}
PYTHON=${PYTHON:-/usr/bin/python3}
PFEDLORA=${PFEDLORA:-node packages/cli/bin/pfedlora.js}
mkdir -p "$OUT"

for i in $(seq 1 "$REPEATS"); do
  echo "$(date -u +%FT%TZ) pfedlora bench train ($i/$REPEATS)" >&2
  # the cpu backend (~4 samples/s) only on the first pass: one step of each batch
  backends=wasm
  [ "$i" = 1 ] && backends=wasm,cpu
  $PFEDLORA bench train --models cnn1 --inputs 28x28x1 --batches "$BATCHES" --backends "$backends" --python none --json > "$OUT/pfedlora-$i.json"
  echo "$(date -u +%FT%TZ) pytorch ($i/$REPEATS)" >&2
  "$PYTHON" scripts/bench-pytorch-cnn.py --batches "$BATCHES" --threads "$THREADS" > "$OUT/pytorch-$i.json"
done

node - "$OUT" "$REPEATS" <<'EOF'
const fs = require('node:fs');
const [out, repeats] = [process.argv[2], Number(process.argv[3])];
const ours = [], torch = [];
// wasm / cpu as `bench train` computes it, both backends timed in the same process
const sameRun = JSON.parse(fs.readFileSync(`${out}/pfedlora-1.json`, 'utf8')).ratios;
let torchVersion = '';
for (let i = 1; i <= repeats; i++) {
  ours.push(...JSON.parse(fs.readFileSync(`${out}/pfedlora-${i}.json`, 'utf8')).results);
  const t = JSON.parse(fs.readFileSync(`${out}/pytorch-${i}.json`, 'utf8'));
  torchVersion = t.torch;
  torch.push(...t.results);
}
const fmt = (xs) => xs.map((x) => x.toFixed(1)).join(', ');
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const batches = [...new Set(ours.map((r) => r.batch))];
const threads = [...new Set(torch.map((r) => r.threads))];
console.log(`| batch | wasm samples/s | cpu samples/s | wasm / cpu | ${threads.map((t) => `PyTorch ${torchVersion} ${t} thread${t > 1 ? 's' : ''} | wasm / PyTorch ${t}t`).join(' | ')} |`);
console.log(`|---|---|---|---|${threads.map(() => '---|---').join('|')}|`);
for (const b of batches) {
  const wasm = ours.filter((r) => r.batch === b && r.backend === 'wasm').map((r) => r.samplesPerSec);
  const cpu = ours.filter((r) => r.batch === b && r.backend === 'cpu').map((r) => r.samplesPerSec);
  const cells = threads.map((t) => {
    const p = torch.filter((r) => r.batch === b && r.threads === t).map((r) => r.samplesPerSec);
    return `${fmt(p)} | ${(mean(wasm) / mean(p)).toFixed(2)}x`;
  });
  console.log(`| ${b} | ${fmt(wasm)} | ${fmt(cpu)} | ${sameRun.filter((r) => r.batch === b).map((r) => r.ratio.toFixed(0) + 'x').join(', ')} | ${cells.join(' | ')} |`);
}
EOF
