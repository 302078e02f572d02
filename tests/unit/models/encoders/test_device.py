"""The device helpers: unit vectors without NaN, and a block that takes every core."""

import os

import numpy as np
import torch

from hybrid_search.models.encoders.device import every_core, l2_normalise


def test_every_core_sizes_torch_to_the_machine_and_restores_it():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with every_core():
            assert torch.get_num_threads() == (os.cpu_count() or 1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_zero_rows_stay_zero():
    out = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert np.allclose(out, [[0.6, 0.8], [0.0, 0.0]])
