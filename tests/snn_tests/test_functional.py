from __future__ import annotations

import pytest
import torch

from spikefit_search.snn import (
    SURROGATES,
    LIFParameters,
    leaky_readout,
    leaky_readout_stepwise,
    lif_multistep,
    lif_step,
)

FS = SURROGATES.get("fast_sigmoid")


def _stepwise(x: torch.Tensor, params: LIFParameters) -> torch.Tensor:
    state = None
    out = []
    for t in range(x.shape[0]):
        s, state = lif_step(x[t], state, params, FS)
        out.append(s)
    return torch.stack(out)


def test_lif_matches_hand_computed_sequence() -> None:
    # beta=0.5, threshold=1, subtract reset, constant input 0.6:
    # v: 0.6, 0.9, 1.05 (spike, u=0.05), 0.625, 0.9125, 1.05625 (spike)
    x = torch.full((6, 1), 0.6)
    s = lif_multistep(x, LIFParameters(0.5, 1.0, "subtract"), FS)
    assert s.flatten().tolist() == [0, 0, 1, 0, 0, 1]
    # reset to zero: v 0.6, 0.9, 1.05 (spike, u=0), 0.6, 0.9, 1.05 (spike)
    s0 = lif_multistep(x, LIFParameters(0.5, 1.0, "zero"), FS)
    assert s0.flatten().tolist() == [0, 0, 1, 0, 0, 1]
    # integrate-and-fire: 0.6, 1.2 (spike, 0.2), 0.8, 1.4 (spike, 0.4), 1.0 (spike, 0), 0.6
    s_if = lif_multistep(x, LIFParameters(1.0, 1.0, "subtract"), FS)
    assert s_if.flatten().tolist() == [0, 1, 0, 1, 1, 0]


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("beta", [0.8, 1.0])
@pytest.mark.parametrize("surrogate", SURROGATES.names())
def test_multistep_equals_per_step_outputs_and_gradients(
    reset: str, beta: float, surrogate: str
) -> None:
    sg = SURROGATES.get(surrogate)
    params = LIFParameters(beta, 1.0, reset)
    torch.manual_seed(3)
    x = (torch.randn(12, 5, 7) * 0.8 + 0.4).requires_grad_()
    weights = torch.randn(12, 5, 7)

    s_multi = lif_multistep(x, params, sg)
    (g_multi,) = torch.autograd.grad((s_multi * weights).sum(), x)

    state = None
    outs = []
    for t in range(x.shape[0]):
        s, state = lif_step(x[t], state, params, sg)
        outs.append(s)
    s_step = torch.stack(outs)
    (g_step,) = torch.autograd.grad((s_step * weights).sum(), x)

    assert torch.equal(s_multi, s_step)
    assert s_multi.sum() > 0  # something fired, so the comparison means something
    torch.testing.assert_close(g_multi, g_step, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("beta", [0.7, 1.0])
def test_closed_form_readout_equals_stepwise_integrator(beta: float) -> None:
    x = torch.randn(9, 4, 3, requires_grad=True)
    a = leaky_readout(x, beta)
    b = leaky_readout_stepwise(x, beta)
    torch.testing.assert_close(a, b)
    (ga,) = torch.autograd.grad(a.sum(), x)
    (gb,) = torch.autograd.grad(b.sum(), x)
    torch.testing.assert_close(ga, gb)
