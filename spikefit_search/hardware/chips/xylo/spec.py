"""A chip-exact network in SynSense's own form for Xylo: the keyword arguments of Rockpool's
``XyloSim.from_specification`` (and of ``config_from_specification``, which builds the
configuration a Xylo board is flashed with).

Rockpool is not a dependency: the file holds plain numpy arrays. To deploy, pop
``flush_steps`` (empty steps to append after each sample), turn ``aliases`` into a list of empty
lists and the scalars into Python ints, floats and a str, then call
``XyloSim.from_specification(**spec)``: ``docs/reporting.md`` gives the exact lines.

Layout (``docs/reporting.md``): the hidden layers of a feed-forward network share Xylo's one
hidden population, layer after layer; the first layer's weights are ``weights_in``, the
weights between hidden layers are blocks of ``weights_rec``, and a recurrent layer's own
recurrent weight is its diagonal block there (zero elsewhere); the readout's are the rows of
the last hidden layer in ``weights_out``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spikefit_search._io import atomic_write_bytes
from spikefit_search.exceptions import ConfigError

if TYPE_CHECKING:
    from spikefit_search.snn import SpikingNetwork

SPEC_KEYS = (
    "weights_in",
    "weights_rec",
    "weights_out",
    "dash_mem",
    "dash_mem_out",
    "dash_syn",
    "dash_syn_2",
    "dash_syn_out",
    "threshold",
    "threshold_out",
    "weight_shift_in",
    "weight_shift_rec",
    "weight_shift_out",
    "aliases",
    "dt",
    "output_mode",
)
"""The keyword arguments of ``XyloSim.from_specification`` the file holds (plus
``flush_steps``)."""


def xylo_specification(model: SpikingNetwork, *, dt_s: float = 1e-3) -> dict[str, Any]:
    """The chip-exact ``model`` as Xylo's specification (numpy arrays, ``SPEC_KEYS`` and
    ``flush_steps``).

    Raises:
        ConfigError: the model is not a chip-exact Xylo MLP with at least one hidden layer.
    """
    from spikefit_search.snn.chip import flush_steps, layer_integers

    cfg = model.config
    if cfg.chip is None or cfg.chip.family != "xylo" or not model.chip_exact:
        raise ConfigError(
            "a Xylo specification needs a quantized network with Xylo's chip neuron, but got "
            f"chip={None if cfg.chip is None else cfg.chip.family!r}."
        )
    if cfg.kind != "mlp" or len(cfg.hidden) < 1:
        raise ConfigError(
            "Xylo runs dense layers with at least one hidden layer, but got "
            f"kind={cfg.kind!r}, hidden={list(cfg.hidden)}."
        )
    ints = layer_integers(model)
    widths = list(cfg.hidden)
    starts = np.cumsum([0, *widths])
    n_hidden = int(starts[-1])
    n_in = ints[0].codes.shape[1]
    n_out = cfg.n_classes
    w_in = np.zeros((n_in, n_hidden), dtype=np.int64)
    w_rec = np.zeros((n_hidden, n_hidden), dtype=np.int64)
    w_out = np.zeros((n_hidden, n_out), dtype=np.int64)
    w_in[:, : widths[0]] = ints[0].stored_weights.numpy().T
    for d in range(1, len(widths)):
        rows = slice(starts[d - 1], starts[d])
        cols = slice(starts[d], starts[d + 1])
        w_rec[rows, cols] = ints[d].stored_weights.numpy().T
    for d in range(len(widths)):
        own = ints[d].recurrent
        if own is not None:
            block = slice(starts[d], starts[d + 1])
            w_rec[block, block] = own.stored_weights.numpy().T
    w_out[starts[-2] : starts[-1], :] = ints[-1].stored_weights.numpy().T
    threshold = np.concatenate(
        [np.full(w, ints[d].threshold, dtype=np.int64) for d, w in enumerate(widths)]
    )
    hidden = ints[:-1]
    dash_mem = np.concatenate([np.full(w, _dash(i.dash_mem)) for i, w in zip(hidden, widths)])
    dash_syn = np.concatenate([np.full(w, _dash(i.dash_syn)) for i, w in zip(hidden, widths)])
    out = ints[-1]
    rec_shifts = {i.weight_shift for i in ints[1:-1]}
    rec_shifts |= {i.weight_shift for i in ints[:-1] if i.recurrent is not None}
    return {
        "weights_in": w_in,
        "weights_rec": w_rec,
        "weights_out": w_out,
        "dash_mem": dash_mem.astype(np.int64),
        "dash_mem_out": np.full(n_out, _dash(out.dash_mem), dtype=np.int64),
        "dash_syn": dash_syn.astype(np.int64),
        "dash_syn_2": dash_syn.astype(np.int64),
        "dash_syn_out": np.full(n_out, _dash(out.dash_syn), dtype=np.int64),
        "threshold": threshold,
        "threshold_out": np.full(n_out, out.threshold, dtype=np.int64),
        "weight_shift_in": np.int64(ints[0].weight_shift),
        "weight_shift_rec": np.int64(rec_shifts.pop() if rec_shifts else 0),
        "weight_shift_out": np.int64(out.weight_shift),
        "aliases": np.zeros((n_hidden, 0), dtype=np.int64),
        "dt": np.float64(dt_s),
        "output_mode": np.str_("Spike" if cfg.readout == "spikes" else "Vmem"),
        "flush_steps": np.int64(flush_steps(model)),
    }


def _dash(value: int | None) -> int:
    if value is None:
        raise ConfigError("Xylo neurons decay by a bit shift, but got a layer without one.")
    return int(value)


def save_xylo_specification(path: str | Path, model: SpikingNetwork, *, dt_s: float) -> Path:
    """Write :func:`xylo_specification` to ``path`` (``.npz``, whole or not at all) and return
    the path."""
    buffer = io.BytesIO()
    np.savez(buffer, **xylo_specification(model, dt_s=dt_s))
    return atomic_write_bytes(path, buffer.getvalue())
