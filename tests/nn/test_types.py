"""The range types check Python callers too: a constructor hands its sizes and rates to `seqlit.nn.types.check`."""

from __future__ import annotations

import pytest

from seqlit.io.checkpoints import model_from_checkpoint
from seqlit.errors import SeqlitError
from seqlit.nn.types import PositiveInt, Rate, check
from tests.conftest import REPO


@pytest.mark.parametrize("kind, value, what", [(PositiveInt, 0, "a positive integer"), (PositiveInt, 4.0, "a positive integer"),
                                              (PositiveInt, True, "a positive integer"), (Rate, 1.0, "a number in [0, 1)"),
                                              (Rate, -0.1, "a number in [0, 1)"), (Rate, "0.1", "a number in [0, 1)")])
def test_a_value_out_of_its_types_range_is_one_error_naming_it(kind, value, what):
    with pytest.raises(SeqlitError, match=rf"^Owner: x must be {what.replace('[', '.').replace(')', '.')}, got {value!r}$"):
        check("Owner", kind, x=value)


def test_values_in_range_pass():
    check("Owner", PositiveInt, a=1, b=200)
    check("Owner", Rate, a=0, b=0.5)


def test_a_task_built_in_python_refuses_a_rate_out_of_range():
    with pytest.raises(SeqlitError, match=r"^Tagger: dropout must be a number in \[0, 1\), got 1.0$"):
        model_from_checkpoint(REPO / "tests" / "fixtures" / "legacy" / "tagger.ckpt", dropout=1.0)
