"""Words or subwords for SST-2? Train the same model on each tokenization, same seed, same budget.

For each tokenizer (`word`: the training split's words; `bpe`: byte-pair pieces
trained on the training split's words with HF `tokenizers`) this runs

    python -m seqlit fit --config configs/sentiment/sst2_bilstm.yaml \\
        --data.init_args.tokenizer T --seed_everything SEED --trainer.max_time BUDGET ...

on one thread (OMP_NUM_THREADS=1, RAYON_NUM_THREADS=1 for `tokenizers`), one
run after the other, and prints one row each: best val/acc, training
sentences/s (over the training time with validation included, as
docs/results/sentiment.md counts them, and over training steps alone),
vocabulary size, tokens per validation sentence, the share of validation
tokens that are `<unk>` and the share of validation words never seen in
training (the same for both: it is what subwords are for), plus the wall-clock
of the whole command (start-up and tokenizer training included).

    flock /tmp/seqlit-cpu.lock python bench/tokenizer_choice.py                 # 2 × 4 minutes
    python bench/tokenizer_choice.py --max_time 00:00:00:30 -- --trainer.max_steps 5 --trainer.val_check_interval 5

Arguments after `--` go to every `fit`. Each run's CSV log, checkpoints and
record.json land in OUT/TOKENIZER; the table also goes to OUT/results.md and
the records to OUT/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytorch_lightning as pl

REPO = Path(__file__).resolve().parents[1]
CONFIG = "configs/sentiment/sst2_bilstm.yaml"


class Record(pl.Callback):
    """Counts training sentences and time; at the end writes the run's figures to `out` (JSON)."""

    def __init__(self, out: str):
        self.out = out
        self.sentences, self.steps_s = 0, 0.0
        self._start = self._step_start = None

    def on_train_start(self, trainer, pl_module) -> None:
        self._start = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._step_start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps_s += time.perf_counter() - self._step_start
        self.sentences += len(batch["labels"])

    def on_train_end(self, trainer, pl_module) -> None:
        train_s = time.perf_counter() - self._start
        dm = trainer.datamodule
        val = dm.encoded("validation")
        tokens = sum(len(ids) for ids in val.ids)
        unk = sum(ids.count(dm.vocab.unk_id) for ids in val.ids)
        from data_modules.sentiment import tokenize
        from seqlit.vocab import Vocab

        seen = set(Vocab.build(tokenize(t or "", dm.lowercase) for t in dm.split("train")[dm.text_column][:]).tokens)
        words = [w for t in val.texts for w in tokenize(t, dm.lowercase)]
        best = trainer.checkpoint_callback.best_model_score if trainer.checkpoint_callback else None
        record = {
            "tokenizer": dm.tokenizer, "vocab_size": len(dm.vocab),
            "best_val_acc": None if best is None else round(float(best), 4),
            "steps": trainer.global_step, "epochs": round(trainer.global_step / len(trainer.train_dataloader), 2),
            "train_sentences": self.sentences, "train_s": round(train_s, 1),
            "sentences_per_s": round(self.sentences / train_s, 1),
            "sentences_per_s_steps_only": round(self.sentences / self.steps_s, 1) if self.steps_s else None,
            "val_tokens_per_sentence": round(tokens / len(val.ids), 2),
            "val_unk_rate": round(unk / tokens, 5), "val_unseen_word_rate": round(sum(w not in seen for w in words) / len(words), 5),
        }
        Path(self.out).write_text(json.dumps(record) + "\n")


COLUMNS = [("tokenizer", "tokenizer"), ("best val/acc", "best_val_acc"), ("sentences/s", "sentences_per_s"),
           ("sentences/s (steps only)", "sentences_per_s_steps_only"), ("epochs", "epochs"),
           ("vocabulary", "vocab_size"), ("tokens / val sentence", "val_tokens_per_sentence"),
           ("val <unk> rate", "val_unk_rate"), ("val words unseen in training", "val_unseen_word_rate"),
           ("wall-clock s", "wall_s")]


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokenizers", nargs="+", default=["word", "bpe"], choices=["word", "bpe"])
    parser.add_argument("--subword_vocab_size", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max_time", default="00:00:04:00", help="training budget per run (dd:hh:mm:ss)")
    parser.add_argument("--data", default="../shared/data/sst2")
    parser.add_argument("--out", default="bench/out/tokenizer_choice")
    args = parser.parse_args(argv)

    out = Path(args.out)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    records = []
    for tok in args.tokenizers:
        run = out / tok
        run.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "seqlit", "fit", "--config", CONFIG, "--data.init_args.path", args.data,
               "--data.init_args.tokenizer", tok, "--data.init_args.subword_vocab_size", str(args.subword_vocab_size),
               "--seed_everything", str(args.seed), "--trainer.max_time", args.max_time, "--test_after_fit", "false",
               "--trainer.enable_progress_bar", "false", "--trainer.logger", "pytorch_lightning.loggers.CSVLogger",
               "--trainer.logger.save_dir", str(run), "--trainer.callbacks+=bench.tokenizer_choice.Record",
               f"--trainer.callbacks.init_args.out={run / 'record.json'}", *extra]
        print(f"[tokenizer_choice] {tok}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        with open(run / "log.txt", "w") as log:
            done = subprocess.run(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            sys.exit(f"[tokenizer_choice] {tok}: fit failed ({done.returncode}); see {run / 'log.txt'}")
        record = json.loads((run / "record.json").read_text())
        record["wall_s"] = round(time.perf_counter() - start, 1)
        records.append(record)
        print(f"[tokenizer_choice] {json.dumps(record)}", flush=True)

    table = ["| " + " | ".join(c for c, _ in COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    table += ["| " + " | ".join("n/a" if r[k] is None else str(r[k]) for _, k in COLUMNS) + " |" for r in records]
    budget = f"seed {args.seed}, max_time {args.max_time}, one thread" + (f", extra: {' '.join(extra)}" if extra else "")
    text = f"{CONFIG} on {args.data}, {budget}\n\n" + "\n".join(table) + "\n"
    print("\n" + text)
    (out / "results.md").write_text(text)
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


if __name__ == "__main__":
    main()
