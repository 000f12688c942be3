"""Each rank restores its own row of the resume state a multi-process checkpoint stores (seqlit/run/resume.py).

Found by the SLURM pre-emption test: rank 1 of a 2-process run resumed in 2 processes died in
`torch.set_rng_state` ("Invalid mt19937 state", or a segfault), because its row was a view into the stacked
(world_size, …) tensor, whose storage torch reads from the start.
"""

from types import SimpleNamespace

import torch

from seqlit.run import resume


def test_rank_one_restores_its_random_generator_row():
    torch.manual_seed(1)
    rank0 = torch.get_rng_state()
    torch.manual_seed(2)
    rank1 = torch.get_rng_state()
    expected = torch.rand(3)
    saved = {"rng_cpu": torch.stack([rank0, rank1])}
    module = SimpleNamespace(_trainer=SimpleNamespace(world_size=2, global_rank=1))
    resume.set_rng_state(resume.this_rank(module, saved), torch.device("cpu"))
    assert torch.equal(torch.rand(3), expected)
