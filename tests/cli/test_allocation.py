"""A model too large to allocate is one line naming the size asked for (seqlit/run/allocation.py), not a double traceback."""

from __future__ import annotations

import pytest

from seqlit.run.allocation import allocation_failure
from tests.conftest import REPO
from tests.test_bad_input import lm_text, one_line_error, seqlit


def test_a_model_too_large_to_allocate_is_one_line(tmp_path):
    # 10**7 hidden units: a GRU's 1.2 PB of weights exceed any address space, so the allocator refuses at once
    # whatever the machine's overcommit setting (1e6 asks 12 TB, which an overcommitting kernel may map)
    corpus = lm_text(tmp_path / "corpus.txt")
    run = seqlit("fit", "--config", str(REPO / "configs" / "quickstart.yaml"), "--data.init_args.path", str(corpus),
                 "--model.init_args.backbone.hidden_size", "10000000", "--trainer.logger", "false", cwd=tmp_path)
    line = one_line_error(run, "out of memory: one allocation of", "bytes) of CPU memory cannot succeed",
                          "while building the model", "make them smaller")
    asked = int(line.split("(")[1].split(" bytes")[0].replace(",", ""))
    assert asked >= 3 * 10**14  # at least the input-to-hidden weights, 3 gates x 10**7 x 10**7 x 4 bytes


@pytest.mark.parametrize("message, needle", [
    ("CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 79.1 GiB", "20.00 GiB of GPU memory"),
    ("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory: you tried to allocate 2500 bytes",
     "2.5 KB (2,500 bytes) of CPU memory"),
])
def test_the_allocators_messages_are_read(message, needle):
    line = allocation_failure([RuntimeError(message)])
    assert needle in line and "while running: a batch" in line


def test_other_errors_are_not_taken_for_allocations():
    assert allocation_failure([RuntimeError("shape mismatch"), ValueError("bad")]) is None
