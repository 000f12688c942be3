#!/usr/bin/env bash
# bash bench/agreement_sweep.sh [OUT]   (default OUT=bench/out/agreement)
#
# The vanishing-gradient lesson as an experiment: train rnn, gru and lstm on the
# agreement task for L in 5 10 25 50 100 (configs/agreement/), test each best
# checkpoint, keep the metrics (CSV) and the gradient-flow curves of each run.
# One intra-op thread per run, so the numbers hold on a shared 2-core machine.
# docs/make_agreement_figure.py turns OUT into the README figure and table.
set -euo pipefail
out=${1:-bench/out/agreement}
for cell in rnn gru lstm; do
  for L in 5 10 25 50 100; do
    dir="$out/$cell-L$L"
    [ -f "$dir/done" ] && continue
    rm -rf "$dir"; mkdir -p "$dir"
    start=$(date +%s)
    OMP_NUM_THREADS=1 python -m seqlit fit --config configs/agreement/base.yaml --config "configs/agreement/$cell.yaml" \
      --data.init_args.distractor_length "$L" --test_after_fit true --trainer.enable_progress_bar false \
      --trainer.logger pytorch_lightning.loggers.CSVLogger --trainer.logger.save_dir "$dir" > "$dir/log.txt" 2>&1
    echo "$(( $(date +%s) - start ))" > "$dir/done"
    echo "$cell L=$L: $(cat "$dir/done") s"
  done
done
