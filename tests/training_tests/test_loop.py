from __future__ import annotations

import pytest
import torch

from spikefit_search.data import load_dataset
from spikefit_search.exceptions import ConfigError, TrialFailedError
from spikefit_search.snn import NetworkConfig, SpikingNetwork
from spikefit_search.training import TrainConfig, fit, resolve_device, train_network

TINY = NetworkConfig(hidden=(24,), timesteps=4)


@pytest.fixture(scope="module")
def digits():  # type: ignore[no-untyped-def]
    return load_dataset("digits", limit_train=300)


def test_training_reduces_loss_and_learns(digits) -> None:  # type: ignore[no-untyped-def]
    result = train_network(
        TINY, digits, TrainConfig(epochs=4, batch_size=32, lr=5e-3, schedule="constant")
    )
    assert result.losses[-1] < 0.7 * result.losses[0]
    assert result.val_accuracy > 0.5  # chance is 0.1
    assert result.test is not None and result.test.activity.total_sops > 0


def test_same_seed_same_result(digits) -> None:  # type: ignore[no-untyped-def]
    cfg = TrainConfig(epochs=2, batch_size=32, seed=7)
    a = train_network(TINY, digits, cfg)
    b = train_network(TINY, digits, cfg)
    c = train_network(TINY, digits, TrainConfig(epochs=2, batch_size=32, seed=8))
    assert a.losses == b.losses and a.val_accuracy == b.val_accuracy
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    assert a.losses != c.losses


def test_nan_loss_fails_the_run(digits) -> None:  # type: ignore[no-untyped-def]
    model = SpikingNetwork(TINY)
    with torch.no_grad():
        model.synaptic_layers[-1].synapse.weight.fill_(float("nan"))
    opt = torch.optim.Adam(model.parameters())
    with pytest.raises(TrialFailedError, match="must stay finite"):
        fit(model, digits.x_train, digits.y_train, epochs=1, batch_size=64, optimizer=opt, seed=0)


def test_cosine_schedule_anneals_the_learning_rate(digits) -> None:  # type: ignore[no-untyped-def]
    model = SpikingNetwork(TINY)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    fit(
        model,
        digits.x_train,
        digits.y_train,
        epochs=2,
        batch_size=128,
        optimizer=opt,
        seed=0,
        scheduler=sched,
    )
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_bad_train_config() -> None:
    with pytest.raises(ConfigError, match="lr must be a positive number, but got lr=0"):
        TrainConfig(lr=0)
    with pytest.raises(ConfigError, match="accelerator must be one of"):
        resolve_device("tpu")
