from __future__ import annotations

import pytest
import torch

from spikefit_search.exceptions import UnknownNameError
from spikefit_search.snn import SURROGATES, spike


@pytest.fixture(params=SURROGATES.names())
def surrogate(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return SURROGATES.get(request.param)


def test_derivative_shape_sign_and_peak(surrogate) -> None:  # type: ignore[no-untyped-def]
    x = torch.linspace(-2, 2, 401)
    d = surrogate.derivative(x)
    assert d.shape == x.shape
    assert (d > 0).all()
    assert int(d.argmax()) == 200  # peak exactly at the threshold (x = 0)
    assert torch.allclose(d, surrogate.derivative(-x))  # symmetric
    assert (d[200:].diff() < 0).all()  # falls away from the threshold


def test_spike_forward_is_heaviside_and_backward_is_surrogate(surrogate) -> None:  # type: ignore[no-untyped-def]
    x = torch.tensor([-0.5, -1e-3, 0.0, 0.3], requires_grad=True)
    s = spike(x, surrogate)
    assert s.tolist() == [0.0, 0.0, 1.0, 1.0]
    s.sum().backward()
    assert x.grad is not None
    assert torch.allclose(x.grad, surrogate.derivative(x.detach()))


def test_unknown_surrogate_lists_known_names() -> None:
    with pytest.raises(UnknownNameError, match="arctan, fast_sigmoid, but got 'relu'"):
        SURROGATES.get("relu")


def test_config_knows_every_registered_surrogate() -> None:
    from spikefit_search.snn.config import SURROGATE_NAMES

    assert sorted(SURROGATE_NAMES) == SURROGATES.names()
