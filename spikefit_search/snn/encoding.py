"""Turn samples into ``T`` steps of network input: static samples are encoded (rate or direct),
event frames pass as they are; then the optional input reduction the chip's inputs demand."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from spikefit_search._registry import Registry
from spikefit_search.exceptions import ConfigError

RATE_LEVELS = 1 << 16
"""Resolution of a firing probability on the CPU: a pixel fires with probability
``round(x * RATE_LEVELS) / RATE_LEVELS``, within ``1 / (2 RATE_LEVELS)`` of its value."""


def rate_encode(
    x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Bernoulli rate coding: at each step a pixel fires with probability equal to its value.

    The draws come from ``generator`` (torch's global generator when None), so a seeded run
    repeats exactly. On the CPU they are 16-bit integers from numpy's PCG64, seeded by one
    draw of ``generator``, compared with ``round(x * 2^16)``: about 5x faster than torch's
    float draws (its CPU generator is a Mersenne Twister), which took a third of a training
    step of a 784-input network (``docs/decisions.md``). Elsewhere torch's own float draws.

    Shape:
        x: ``(B, ...)`` with values in [0, 1]; returns ``(T, B, ...)`` of 0/1 events.
    """
    _static(x, "rate")
    if x.device.type != "cpu":
        noise = torch.rand((steps, *x.shape), generator=generator, device=x.device, dtype=x.dtype)
        return (noise < x).to(x.dtype)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    draws = np.random.Generator(np.random.PCG64(seed)).integers(
        0, RATE_LEVELS, size=(steps, *x.shape), dtype=np.uint16
    )
    levels = torch.round(x.detach().clamp(0.0, 1.0) * RATE_LEVELS).to(torch.int32).numpy()
    return torch.from_numpy(draws < levels).to(x.dtype)


def direct_encode(
    x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Direct (current) coding: the value itself is the input current at every step."""
    del generator
    _static(x, "direct")
    return x.unsqueeze(0).expand(steps, *x.shape)


def events_encode(
    x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Event frames pass through unchanged: each frame's event counts are one step's input.

    Shape:
        x: ``(B, T, C, H, W)`` event counts (any dtype, e.g. uint8); returns ``(T, B, C, H, W)``
        float.
    """
    del generator
    if x.dim() != 5 or x.shape[1] != steps:
        raise ConfigError(
            f"encoder 'events' needs frames of shape (B, T={steps}, C, H, W), but got "
            f"{tuple(x.shape)}."
        )
    return x.transpose(0, 1).to(torch.get_default_dtype())


def _static(x: torch.Tensor, name: str) -> None:
    if x.dim() == 5:
        raise ConfigError(
            f"encoder {name!r} codes static samples (B, C, H, W), but got event frames "
            f"{tuple(x.shape)}; use encoder 'events'."
        )


def reduced_shape(shape: tuple[int, int, int], pool: int, group: int) -> tuple[int, int, int]:
    """``(C, H, W)`` after :func:`reduce_input`."""
    c, h, w = shape
    return (math.ceil(c / group), math.ceil(h / pool), math.ceil(w / pool))


def reduce_input(events: torch.Tensor, pool: int, group: int) -> torch.Tensor:
    """Input reduction: sum adjacent channels in groups of ``group`` and sum-pool the map over
    ``pool x pool`` blocks (a partial block at an edge sums what it holds). Event counts are
    kept: every input event reaches the chip, on fewer input channels.

    Shape:
        events: ``(T, B, C, H, W)``; returns ``(T, B, ceil(C/group), ceil(H/pool), ceil(W/pool))``.
    """
    steps, batch, c, h, w = events.shape
    out = events
    if group > 1:
        pad = -c % group
        if pad:
            out = F.pad(out, (0, 0, 0, 0, 0, pad))
        out = out.reshape(steps, batch, -1, group, h, w).sum(dim=3)
    if pool > 1:
        kernel = (min(pool, h), min(pool, w))
        flat = out.reshape(steps * batch, *out.shape[2:])
        flat = F.avg_pool2d(flat, kernel, kernel, ceil_mode=True, divisor_override=1)
        out = flat.reshape(steps, batch, *flat.shape[1:])
    return out


Encoder = Callable[..., torch.Tensor]
ENCODERS: Registry[Encoder] = Registry("encoder")
ENCODERS.add("rate", rate_encode)
ENCODERS.add("direct", direct_encode)
ENCODERS.add("events", events_encode)


def encode(
    name: str, x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    if steps < 1:
        raise ConfigError(f"timesteps must be at least 1, but got {steps}.")
    fn = ENCODERS.get(name)
    out: torch.Tensor = fn(x, steps, generator=generator)
    return out
