"""Save a pipeline result and load it back as a network that evaluates identically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from spikefit_search.compression.pipeline import (
    PipelineConfig,
    PipelineResult,
    attach_configured_quantizers,
)
from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import NetworkConfig, SpikingNetwork

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: str | Path, result: PipelineResult, cfg: PipelineConfig) -> Path:
    """Write ``{"format", "pipeline", "network", "state_dict"}`` with :func:`torch.save`.

    ``pipeline`` is ``cfg.to_dict()``; ``network`` the architecture after pruning; the state
    dict holds latent weights, masks, codebooks and scales (on CPU).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
    torch.save(
        {
            "format": CHECKPOINT_FORMAT,
            "pipeline": cfg.to_dict(),
            "network": result.network.to_dict(),
            "state_dict": state,
        },
        path,
    )
    return path


def load_checkpoint(
    path: str | Path, *, device: torch.device | str = "cpu"
) -> tuple[SpikingNetwork, PipelineConfig]:
    """Rebuild the network of a checkpoint, quantizers attached, in evaluation mode (the
    network as evaluated), and its pipeline config.

    Raises:
        ConfigError: the file is missing or not a spikefit checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"checkpoint must be an existing file, but {path} is not.")
    try:
        blob: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"checkpoint must be a torch file, but {path} gave {exc}.") from None
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(
            f"checkpoint must be a spikefit checkpoint of format {CHECKPOINT_FORMAT}, "
            f"but {path} is not."
        )
    cfg = PipelineConfig.from_dict(blob["pipeline"])
    model = SpikingNetwork(NetworkConfig.from_dict(blob["network"]))
    state: dict[str, torch.Tensor] = blob["state_dict"]
    for i, layer in enumerate(model.synaptic_layers):
        for key, target in (
            (f"layers.{i}.mask", layer),
            (f"layers.{i}.recurrent.mask", layer.recurrent),
        ):
            if key in state and target is not None:
                target.mask = torch.zeros_like(state[key])
    if any(".weight_transform." in key for key in state):
        attach_configured_quantizers(model, cfg)
    model.load_state_dict(state)
    return model.to(device).eval(), cfg
