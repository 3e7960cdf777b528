"""Fast-path dispatch of ``lif_multistep``: CPU never touches Triton, the inference path equals
the training path, repeated backward passes agree, custom surrogates keep working."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from spikefit_search.snn import SURROGATES, LIFParameters, _triton, lif_multistep, lif_step


@dataclass(frozen=True)
class _Triangle:
    name: str = "triangle"

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (1.0 - x.abs()).clamp_min(0.0)


def _reference(x: torch.Tensor, p: LIFParameters, surrogate) -> torch.Tensor:
    state, outs = None, []
    for t in range(x.shape[0]):
        s, state = lif_step(x[t], state, p, surrogate)
        outs.append(s)
    return torch.stack(outs)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_cpu_never_uses_triton(reset: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("triton path taken on CPU")

    monkeypatch.setattr(_triton, "lif_multistep_triton", boom)
    x = torch.randn(5, 3, 4, requires_grad=True)
    lif_multistep(
        x, LIFParameters(0.9, 1.0, reset), SURROGATES.get("fast_sigmoid")
    ).sum().backward()
    assert not _triton.supports(x.detach(), SURROGATES.get("fast_sigmoid"))


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_no_grad_path_equals_training_path(reset: str) -> None:
    p = LIFParameters(0.8, 1.0, reset)
    x = torch.randn(9, 4, 6) + 0.5
    with torch.no_grad():
        fast = lif_multistep(x, p, SURROGATES.get("arctan"))
    slow = lif_multistep(x.clone().requires_grad_(), p, SURROGATES.get("arctan"))
    assert torch.equal(fast, slow.detach())
    assert torch.equal(fast, _reference(x, p, SURROGATES.get("arctan")))


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_retain_graph_backward_twice_agrees(reset: str) -> None:
    x = (torch.randn(7, 5) + 0.5).requires_grad_()
    s = lif_multistep(x, LIFParameters(0.9, 1.0, reset), SURROGATES.get("fast_sigmoid"))
    w = torch.randn_like(s)
    (g1,) = torch.autograd.grad((s * w).sum(), x, retain_graph=True)
    (g2,) = torch.autograd.grad((s * w).sum(), x)
    assert torch.equal(g1, g2)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_custom_surrogate_matches_reference(reset: str) -> None:
    p = LIFParameters(0.9, 1.0, reset)
    x = (torch.randn(6, 3, 5) * 0.7 + 0.6).requires_grad_()
    w = torch.randn(6, 3, 5)
    (g_fast,) = torch.autograd.grad((lif_multistep(x, p, _Triangle()) * w).sum(), x)
    (g_ref,) = torch.autograd.grad((_reference(x, p, _Triangle()) * w).sum(), x)
    torch.testing.assert_close(g_fast, g_ref, atol=1e-6, rtol=1e-5)


def test_triton_unsupported_surrogate_is_declined() -> None:
    assert _triton._surrogate_code(_Triangle()) is None
    assert _triton._surrogate_code(SURROGATES.get("fast_sigmoid")) is not None
