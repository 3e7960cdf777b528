from __future__ import annotations

from spikefit_search.compression import PipelineConfig, run_pipeline
from spikefit_search.data import load_dataset
from spikefit_search.snn import NetworkConfig
from spikefit_search.training import progress


def test_pipeline_reports_each_phase_and_epoch() -> None:
    data = load_dataset("digits", seed=0, limit_train=64)
    cfg = PipelineConfig(
        network=NetworkConfig(hidden=(8,), timesteps=2),
        n_values=2,
        rho=0.25,
        warmup_epochs=2,
        finetune_epochs=1,
        batch_size=32,
    )
    seen: list[tuple[str, int, int]] = []
    with progress.listen(lambda *a: seen.append(a)):
        run_pipeline(cfg, data)
    assert seen == [
        ("warm-up", 0, 2),
        ("warm-up", 1, 2),
        ("warm-up", 2, 2),
        ("evaluation", 0, 0),
        ("pruning", 0, 0),
        ("fine-tune", 0, 1),
        ("fine-tune", 1, 1),
        ("evaluation", 0, 0),
    ]
    seen.clear()
    run_pipeline(cfg, data)  # nobody listens outside the block
    assert seen == []
