from __future__ import annotations

from pathlib import Path

import pytest

TINY_SPACE = """
name: tiny
network: {kind: mlp, beta: 0.9, timesteps: 2}
params:
  n_values: {choices: [2, 3]}
  bits: {choices: [4, 8]}
  rho: {choices: [0.0, 0.5]}
  width: {low: 8, high: 24}
training: {warmup_epochs: 3, finetune_epochs: 2, batch_size: 32}
"""


@pytest.fixture
def tiny_space(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return path
