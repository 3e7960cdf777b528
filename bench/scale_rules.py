# ruff: noqa: E501  (table rows read better on one line)
"""Compare CAT grid-step rules at initialisation: collapses and quantization error.

    python bench/scale_rules.py

For b = 2..8, M = min(4, 2^b - 1) (and M = 2 with a free zero), 4 weight distributions and both
scopes, it builds the k-means codebook once and snaps it with three rules for the grid step:

- ``old``: ``min(max|w|, 2 max|c|) / k_max`` then ``round`` (a max rule);
- ``top``: ``max|c| / k_max`` then ``round`` (largest value on the top level);
- ``fit``: the squared-error fit over the snapped, de-duplicated codebook (the current rule).

It prints, per rule, how many cases lose levels (fewer than M distinct integer values, or a
value on zero while zero is free) and the mean quantization error relative to the weights'
variance. Prints only; nothing is written.
"""

from __future__ import annotations

import statistics

import torch

from spikefit_search.compression import ClusterQuantizer, kmeans_1d, nearest_index


def weights(kind: str, gen: torch.Generator) -> torch.Tensor:
    shape = (64, 256)
    if kind == "gaussian":
        return torch.randn(shape, generator=gen) * 0.05
    if kind == "laplace":
        u = torch.rand(shape, generator=gen) - 0.5
        return -0.05 * torch.sign(u) * torch.log1p(-2 * u.abs())
    if kind == "uniform":
        return (torch.rand(shape, generator=gen) * 2 - 1) * 0.1
    z = torch.randn(shape, generator=gen)
    chi = torch.randn((*shape, 3), generator=gen).pow(2).sum(-1) / 1.5
    return 0.02 * z / chi.sqrt().clamp_min(1e-3)


def error(w: torch.Tensor, table: torch.Tensor) -> float:
    q = torch.gather(table, 1, nearest_index(w, table))
    return float(((q - w) ** 2).mean() / w.var())


def main() -> None:
    gen = torch.Generator().manual_seed(0)
    stats: dict[str, list[float]] = {"old": [], "top": [], "fit": []}
    lost: dict[str, int] = {"old": 0, "top": 0, "fit": 0}
    cases = 0
    for bits in range(2, 9):
        k_max = 2 ** (bits - 1) - 1
        for m, free in ((min(4, 2**bits - 1), False), (2, True)):
            for scope in ("layer", "neuron"):
                for kind in ("gaussian", "laplace", "uniform", "heavy"):
                    w = weights(kind, gen)
                    flat = w.reshape(w.shape[0] if scope == "neuron" else 1, -1)
                    c = kmeans_1d(flat, m, fixed_zero=free)
                    cases += 1
                    for rule in ("old", "top"):
                        top = float(c.abs().max())
                        if rule == "old":
                            top = min(float(w.abs().max()), 2 * top)
                        s = top / k_max
                        k = torch.round(c / s).clamp(-k_max - 1, k_max)
                        bad = any(torch.unique(r).numel() < m for r in k) or (
                            free and bool((k == 0).any())
                        )
                        lost[rule] += bad
                        table = k * s
                        if free:
                            table = torch.cat([table.new_zeros(table.shape[0], 1), table], 1)
                        stats[rule].append(error(flat, table))
                    q = ClusterQuantizer(w, n_values=m, bits=bits, scope=scope, zero_is_free=free)
                    k = q.integer_values()
                    lost["fit"] += any(torch.unique(r).numel() < m for r in k) or (
                        free and bool((k == 0).any())
                    )
                    stats["fit"].append(float(((q(w).detach() - w) ** 2).mean() / w.var()))
    print(f"{cases} cases (b = 2..8; M = min(4, 2^b-1) and M = 2 + free zero; 2 scopes; 4 laws)")
    print("| rule | cases that lose levels | mean relative quantization error | worst |")
    print("|---|---|---|---|")
    for rule in ("old", "top", "fit"):
        print(
            f"| {rule} | {lost[rule]} | {statistics.fmean(stats[rule]):.3f} | {max(stats[rule]):.3f} |"
        )


if __name__ == "__main__":
    main()
