from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("COLUMNS", "200")


@pytest.fixture(autouse=True)
def _seed_and_threads() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)


def write_tiny_space(
    folder: Path, *, warmup_epochs: int = 4, finetune_epochs: int = 1, batch_size: int = 32
) -> Path:
    """A search space of tiny MLPs (T = 2, 8 to 24 neurons) that trains in well under a second."""
    path = folder / "tiny.yaml"
    path.write_text(
        "name: tiny\n"
        "network: {kind: mlp, beta: 0.9, timesteps: 2}\n"
        "params:\n"
        "  n_values: {choices: [2, 3]}\n"
        "  bits: {choices: [4, 8]}\n"
        "  rho: {choices: [0.0, 0.5]}\n"
        "  hidden_layers: {choices: [1]}\n"
        "  width: {low: 8, high: 24}\n"
        f"training: {{warmup_epochs: {warmup_epochs}, finetune_epochs: {finetune_epochs}, "
        f"batch_size: {batch_size}}}\n"
    )
    return path


@pytest.fixture
def tiny_space(tmp_path: Path) -> Path:
    return write_tiny_space(tmp_path)


@pytest.fixture
def write_tiny_space_fn():  # type: ignore[no-untyped-def]
    return write_tiny_space
