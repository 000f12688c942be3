"""The README's resume command continues a *finished* quickstart run (its max_time spent), as a new user runs it
after the quickstart; without the raised budget it shows, the same command is refused in one line."""

from __future__ import annotations

import torch
import yaml

from tests.cli.test_fit_test_generate import TINY
from tests.conftest import REPO, run_seqlit
from tests.test_readme import README, bash_commands

ENV = {"OMP_NUM_THREADS": "1"}
# TINY without its config (given first here) and without `max_time null`: the quickstart's max_time stays
SMALL = [a for i, a in enumerate(TINY) if not {"--config", "--trainer.max_time"} & set(TINY[max(i - 1, 0):i + 1])]


def readme_resume() -> list[str]:
    (command,) = [c for c in bash_commands(README) if c[0] == "fit" and "--ckpt_path" in c]
    return command


def value(args: list[str], option: str) -> str:
    return args[args.index(option) + 1]


def seconds(dhms: str) -> int:
    d, h, m, s = map(int, dhms.split(":"))
    return ((d * 24 + h) * 60 + m) * 60 + s


def test_the_readme_resume_raises_the_quickstarts_budget():
    trainer = yaml.safe_load((REPO / "configs" / "quickstart.yaml").read_text())["trainer"]
    command = readme_resume()
    assert int(value(command, "--trainer.max_epochs")) > trainer["max_epochs"]
    assert seconds(value(command, "--trainer.max_time")) > seconds(trainer["max_time"])


def test_the_readme_resume_continues_a_finished_run(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(f"the cat number {i % 7} sat on mat {i % 5} ." for i in range(400)) + "\n")
    (tmp_path / "configs").symlink_to(REPO / "configs")
    small = [*SMALL, "--data.init_args.path", str(text), "--num_threads", "1", "--test_after_fit", "false"]
    run_seqlit("fit", "--config", "configs/quickstart.yaml", *small, "--trainer.max_steps", "2", cwd=tmp_path, env=ENV)
    (last,) = tmp_path.glob("runs/seqlit/*/checkpoints/last.ckpt")
    ckpt = torch.load(last, weights_only=True)  # as the quickstart ends: its whole max_time trained
    ckpt["callbacks"]["Timer"]["time_elapsed"]["train"] = float(seconds(yaml.safe_load(
        (REPO / "configs" / "quickstart.yaml").read_text())["trainer"]["max_time"]))
    torch.save(ckpt, last)
    resume = [arg.replace("<run>", last.parent.parent.name) for arg in readme_resume()]
    budget = resume.index("--trainer.max_epochs")
    as_before = run_seqlit(*resume[:budget], *small, "--trainer.max_steps", "4", cwd=tmp_path, env=ENV, check=False)
    assert as_before.returncode == 2 and "has used up its max_time" in as_before.stderr
    run_seqlit(*resume, *small, "--trainer.max_steps", "4", cwd=tmp_path, env=ENV)
    assert torch.load(last, weights_only=True)["global_step"] == 4
