#!/bin/bash
# Training tokens/s of one config at two commits, one run after the other on the same machine (a ratio in one
# sitting: these machines are noisy). Each commit is checked out into a temporary git worktree.
#   bash bench/ab_commits.sh 402cd99 a3d3100 configs/lm/wikitext2_lstm.yaml --data.init_args.path ../shared/data/wikitext-2
# Run from the repository root, with nothing else on the machine (see results/cpu/NOTES.md on autogroup).
set -euo pipefail
a=$1 b=$2 config=$3; shift 3
root=$(pwd)
for commit in "$a" "$b"; do
  tree=$(mktemp -d -p "$(dirname "$root")" ab-XXXXXX)  # beside the checkout, so ../shared resolves the same
  git worktree add -q --detach "$tree" "$commit"
  out=$(mktemp -d)
  (cd "$tree" && python -m seqlit fit --config "$config" "$@" --trainer.accelerator cpu --trainer.max_steps 300 \
     --trainer.max_time null --trainer.limit_val_batches 0 --test_after_fit false --trainer.enable_progress_bar false \
     --trainer.default_root_dir "$out" --trainer.logger pytorch_lightning.loggers.CSVLogger \
     --trainer.logger.save_dir "$out" --trainer.callbacks+=seqlit.callbacks.throughput.Throughput > "$out/log" 2>&1)
  python - "$commit" "$out" <<'PY'
import csv, glob, sys
rows = list(csv.DictReader(open(glob.glob(sys.argv[2] + "/**/metrics.csv", recursive=True)[0])))
print(sys.argv[1], "train tokens/s:", [round(float(r["train/tokens_per_s"])) for r in rows if r.get("train/tokens_per_s")])
PY
  git worktree remove --force "$tree"
done
