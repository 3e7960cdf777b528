from __future__ import annotations

import pytest

from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import NetworkConfig


def test_mlp_layer_specs() -> None:
    specs = NetworkConfig(input_shape=(1, 8, 8), hidden=(32, 16)).layer_specs()
    assert [(s.n_inputs, s.n_neurons) for s in specs] == [(64, 32), (32, 16), (16, 10)]
    assert [s.spiking for s in specs] == [True, True, False]
    assert specs[0].kernel == (8, 8)  # a linear layer is a conv over its whole input map


def test_conv_layer_specs_track_geometry() -> None:
    cfg = NetworkConfig(
        kind="conv",
        input_shape=(2, 16, 16),
        channels=(4, 8),
        kernel=3,
        stride=1,
        padding=1,
        pool=2,
        hidden=(20,),
    )
    specs = cfg.layer_specs()
    assert specs[0].out_size == (16, 16) and specs[1].in_size == (8, 8)
    assert specs[2].n_inputs == 8 * 4 * 4
    assert cfg.hidden_sizes == (4, 8, 20)
    assert cfg.with_widths((2, 3, 5)).hidden_sizes == (2, 3, 5)


def test_round_trip_through_dict() -> None:
    cfg = NetworkConfig(hidden=(7,), beta=1.0, reset="zero")
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.neuron_model == "IF"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta": 0.0}, "beta must be in"),
        ({"reset": "none"}, "reset must be one of"),
        ({"timesteps": 0}, "timesteps must be at least 1"),
        ({"kind": "conv"}, "needs at least one conv layer"),
        ({"hidden": (0,)}, "hidden widths must be positive"),
        ({"surrogate": "relu"}, "surrogate must be one of"),
        ({"kind": "conv", "channels": (4,), "kernel": 9, "padding": 0}, "positive output size"),
    ],
)
def test_bad_configs_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(Exception, match=message):
        NetworkConfig(**kwargs)  # type: ignore[arg-type]


def test_unknown_keys_in_dict() -> None:
    with pytest.raises(ConfigError, match="but got \\['width'\\]"):
        NetworkConfig.from_dict({"width": 3})
