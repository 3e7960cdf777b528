from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("COLUMNS", "200")


@pytest.fixture(autouse=True)
def _seed_and_threads() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
