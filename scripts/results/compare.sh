#!/usr/bin/env bash
# pFedLoRA vs standalone on Fashion-MNIST (docs/results.md): 10 clients, label skew with
# 2 classes each, CNN-((k mod 5)+1), the same seeds, models, partitions and local work.
# Runs one simulation at a time with one training thread, then aggregates the grid.
#
#   bash scripts/results/compare.sh                       # the grid of docs/results.md
#   ROUNDS=5 SEEDS="1" bash scripts/results/compare.sh    # a quick look
#   EXTRA="--local-epochs 2" OUT=runs/e2 bash scripts/results/compare.sh
#
# Environment: SEEDS (default "1 2 3"), ROUNDS (20), ALGORITHMS ("pfedlora standalone"),
# OUT (runs/compare), DATA_DIR (subset: the shipped 1000+200 per class; empty: the full set
# when installed), WORKERS (1), EXTRA (more simulate flags), PFEDLORA (the CLI to run).
# A run whose result.json exists is skipped, so an interrupted grid resumes.
set -euo pipefail
cd "$(dirname "$0")/../.."

SEEDS=${SEEDS:-"1 2 3"}
ALGORITHMS=${ALGORITHMS:-"pfedlora standalone"}
OUT=${OUT:-runs/compare}
# shellcheck source=scripts/results/lib.sh
source scripts/results/lib.sh

mkdir -p "$OUT"
for seed in $SEEDS; do
  for algorithm in $ALGORITHMS; do
    run_simulation "$OUT/$algorithm-seed$seed" --algorithm "$algorithm" --seed "$seed"
  done
done
echo "$(date -u +%FT%TZ) done"
node scripts/results/aggregate.js "$OUT"
