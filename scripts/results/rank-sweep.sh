#!/usr/bin/env bash
# Adapter rank sweep for docs/results.md ("Choosing the rank"): pFedLoRA on the setting of
# compare.sh (Fashion-MNIST subset, 10 clients, label skew 2 classes), one seed, alpha = rank
# (branch scale 1), one simulation at a time with one training thread.
#
#   bash scripts/results/rank-sweep.sh
#   RANKS="4 8" ROUNDS=10 OUT=runs/rank-quick bash scripts/results/rank-sweep.sh
#
# Environment: RANKS ("2 4 8 16 32"), SEED (1), ROUNDS (20), OUT (runs/rank), DATA_DIR
# (subset), WORKERS (1), EXTRA (more simulate flags), PFEDLORA (the CLI to run).
# stderr of each run goes to OUT/rankR.log. Existing results are skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."

RANKS=${RANKS:-"2 4 8 16 32"}
SEED=${SEED:-1}
OUT=${OUT:-runs/rank}
# shellcheck source=scripts/results/lib.sh
source scripts/results/lib.sh

mkdir -p "$OUT"
for rank in $RANKS; do
  # stderr (progress, warnings) of each run goes to OUT/rankR.log
  run_simulation "$OUT/rank$rank" --algorithm pfedlora --rank "$rank" --adapter-alpha "$rank" --seed "$SEED" 2> "$OUT/rank$rank.log"
done
echo "$(date -u +%FT%TZ) done"
node scripts/results/aggregate.js "$OUT"
