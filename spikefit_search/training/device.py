"""Choose where tensors live: ``auto`` (CUDA when present), ``cpu`` or ``cuda``."""

from __future__ import annotations

import torch

from spikefit_search.exceptions import ConfigError

ACCELERATORS = ("auto", "cpu", "cuda")


def resolve_device(accelerator: str = "auto") -> torch.device:
    if accelerator not in ACCELERATORS:
        raise ConfigError(
            f"accelerator must be one of {', '.join(ACCELERATORS)}, but got {accelerator!r}."
        )
    if accelerator == "cuda" and not torch.cuda.is_available():
        raise ConfigError("accelerator 'cuda' needs a CUDA device, but none is available.")
    if accelerator == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(accelerator)
