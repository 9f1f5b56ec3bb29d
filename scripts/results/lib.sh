# Shared by compare.sh and rank-sweep.sh (source it): the setting of docs/results.md
# (Fashion-MNIST, 10 clients, label skew with 2 classes each) and one resumable run.
# Environment: ROUNDS (20), DATA_DIR (subset: the shipped 1000+200 per class; empty: the
# full set when installed), WORKERS (1), EXTRA (more simulate flags), PFEDLORA (the CLI).
ROUNDS=${ROUNDS:-20}
DATA_DIR=${DATA_DIR-subset}
WORKERS=${WORKERS:-1}
EXTRA=${EXTRA:-}
PFEDLORA=${PFEDLORA:-node packages/cli/bin/pfedlora.js}

data_flag=()
[ -n "$DATA_DIR" ] && data_flag=(--data-dir "$DATA_DIR")

# run_simulation DIR [simulate flags...]: one simulation into DIR (JSON to DIR.json), skipped
# when DIR/result.json exists, so an interrupted grid resumes.
run_simulation() {
  local dir=$1
  shift
  if [ -f "$dir/result.json" ]; then
    echo "skip $dir (result.json exists)"
    return
  fi
  echo "$(date -u +%FT%TZ) run $dir"
  # shellcheck disable=SC2086
  $PFEDLORA simulate --dataset fashion-mnist "${data_flag[@]}" --clients 10 \
    --partition label-skew --classes-per-client 2 --rounds "$ROUNDS" \
    --workers "$WORKERS" "$@" $EXTRA --json --out "$dir" > "$dir.json"
}
