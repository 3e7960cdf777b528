"""Turn static samples into ``T`` steps of network input."""

from __future__ import annotations

from collections.abc import Callable

import torch

from spikefit_search._registry import Registry
from spikefit_search.exceptions import ConfigError


def rate_encode(
    x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Bernoulli rate coding: at each step a pixel fires with probability equal to its value.

    Shape:
        x: ``(B, ...)`` with values in [0, 1]; returns ``(T, B, ...)`` of 0/1 events.
    """
    noise = torch.rand((steps, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
    return (noise < x).to(x.dtype)


def direct_encode(
    x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Direct (current) coding: the value itself is the input current at every step."""
    del generator
    return x.unsqueeze(0).expand(steps, *x.shape)


Encoder = Callable[..., torch.Tensor]
ENCODERS: Registry[Encoder] = Registry("encoder")
ENCODERS.add("rate", rate_encode)
ENCODERS.add("direct", direct_encode)


def encode(
    name: str, x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    if steps < 1:
        raise ConfigError(f"timesteps must be at least 1, but got {steps}.")
    fn = ENCODERS.get(name)
    out: torch.Tensor = fn(x, steps, generator=generator)
    return out
