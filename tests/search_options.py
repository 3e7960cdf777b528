"""The ``SearchOptions`` of the small test searches: Loihi, a tiny space, 200 training samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spikefit_search.search import SearchOptions


def options(tmp_path: Path, space: Path, **kw: Any) -> SearchOptions:
    """Options of a tiny search into ``tmp_path/runs``; keywords override the defaults."""
    base: dict[str, Any] = dict(
        device="loihi",
        budget=3,
        space=str(space),
        out=str(tmp_path / "runs"),
        limit_train=200,
        accelerator="cpu",
        seed=1,
    )
    base.update(kw)
    return SearchOptions(**base)
