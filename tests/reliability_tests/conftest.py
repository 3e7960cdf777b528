from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def tiny_space(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """Slower trials than the shared fixture, so that a signal can land in the middle of one."""
    write = request.getfixturevalue("write_tiny_space_fn")
    return write(tmp_path, warmup_epochs=3, finetune_epochs=2, batch_size=32)  # type: ignore[no-any-return]
