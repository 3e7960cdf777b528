"""On a chip with a symmetric weight grid (SpiNNaker 2: [-15, 15] at 5 bits), the search trains
on that grid, so the measured check accepts what it builds."""

from __future__ import annotations

from pathlib import Path

import optuna
import torch
from optuna.trial import TrialState
from search_options import options

from spikefit_search.compression import load_checkpoint
from spikefit_search.hardware import measured_check
from spikefit_search.search import run_search
from spikefit_search.search.storage import open_storage


def test_spinnaker2_search_builds_networks_on_its_symmetric_grid(tmp_path: Path) -> None:
    # at the chip's 5 bits with a free zero, two's complement has 31 non-zero levels, so M = 31
    # would need -16; the chip's symmetric grid has 30 (-15..15 less zero), so M is clipped
    space = tmp_path / "small.yaml"
    space.write_text(
        "network: {kind: mlp, timesteps: 4}\n"
        "params:\n  n_values: {choices: [31]}\n  bits: {choices: [5]}\n"
        "  rho: {choices: [0.0]}\n  hidden_layers: {choices: [1]}\n"
        "  width: {choices: [32, 48]}\n"
        "training: {warmup_epochs: 3, finetune_epochs: 1}\n"
    )
    result = run_search(options(tmp_path, space, device="spinnaker2", budget=2, seed=5))
    study = optuna.load_study(
        study_name=result.study_name, storage=open_storage(result.run_dir, None)
    )
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(done) == 2
    for t in done:
        assert t.user_attrs["pipeline"]["symmetric_grid"] is True
        assert t.user_attrs["n_values"] == 30
        assert "clipped to 30, the levels of a symmetric 5-bit grid" in t.user_attrs["note"]
        model, cfg = load_checkpoint(result.run_dir / "checkpoints" / f"trial_{t.number}.pt")
        assert cfg.symmetric_grid
        for layer in model.synaptic_layers:
            q = layer.weight_transform
            assert q is not None
            codes = torch.round(layer.effective_weight() / q.scale)
            assert int(codes.min()) >= -15 and int(codes.max()) <= 15
        check = measured_check("spinnaker2", model)
        assert check.fits, check.messages()
