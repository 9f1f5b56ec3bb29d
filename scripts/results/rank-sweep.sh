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
ROUNDS=${ROUNDS:-20}
OUT=${OUT:-runs/rank}
DATA_DIR=${DATA_DIR-subset}
WORKERS=${WORKERS:-1}
EXTRA=${EXTRA:-}
PFEDLORA=${PFEDLORA:-node packages/cli/bin/pfedlora.js}

data_flag=()
[ -n "$DATA_DIR" ] && data_flag=(--data-dir "$DATA_DIR")

mkdir -p "$OUT"
for rank in $RANKS; do
  dir="$OUT/rank$rank"
  if [ -f "$dir/result.json" ]; then
    echo "skip $dir (result.json exists)"
    continue
  fi
  echo "$(date -u +%FT%TZ) run $dir"
  # shellcheck disable=SC2086
  $PFEDLORA simulate --dataset fashion-mnist "${data_flag[@]}" --clients 10 \
    --partition label-skew --classes-per-client 2 --rounds "$ROUNDS" \
    --algorithm pfedlora --rank "$rank" --adapter-alpha "$rank" --seed "$SEED" \
    --workers "$WORKERS" $EXTRA --json --out "$dir" > "$dir.json" 2> "$dir.log"
done
echo "$(date -u +%FT%TZ) done"
node scripts/results/aggregate.js "$OUT"
