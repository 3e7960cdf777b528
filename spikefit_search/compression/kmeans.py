"""Batched 1-D k-means: one small clustering per row, no Python loop over weights."""

from __future__ import annotations

import torch

_QUANTILE_LIMIT = 1 << 23
_COMPARE_LIMIT = 4


def nearest_index(values: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Index of the nearest center for every value, row by row.

    Ties go to the lower center. ``centers`` need not be sorted.

    Shape:
        values: ``(G, K)``; centers: ``(G, M)``; returns ``(G, K)`` int64 indices into ``centers``.
    """
    sorted_c, order = torch.sort(centers, dim=1)
    mids = (sorted_c[:, 1:] + sorted_c[:, :-1]) * 0.5
    if mids.shape[1] <= _COMPARE_LIMIT:  # a few comparisons beat a binary search on CPU
        pos = torch.zeros(values.shape, dtype=torch.long, device=values.device)
        for j in range(mids.shape[1]):
            pos += values > mids[:, j : j + 1]
    else:
        pos = torch.searchsorted(mids.contiguous(), values.contiguous(), right=False)
    return torch.gather(order, 1, pos)


def kmeans_1d(
    values: torch.Tensor,
    n_clusters: int,
    *,
    valid: torch.Tensor | None = None,
    fixed_zero: bool = False,
    iterations: int = 25,
) -> torch.Tensor:
    """Lloyd's k-means on each row of ``values``, started at evenly spaced quantiles.

    Args:
        values: ``(G, K)`` samples, one clustering per row.
        n_clusters: learnable centers per row.
        valid: optional ``(G, K)`` bool; only ``True`` entries are clustered (pruned synapses
            are left out).
        fixed_zero: cluster against an extra center pinned at 0, which is not returned.
        iterations: Lloyd iterations.

    Returns:
        ``(G, n_clusters)`` centers. A center left without members is moved to the value
        farthest from its own center (one per row and iteration).
    """
    values = values.detach().float()
    g = values.shape[0]
    if valid is None:
        valid = torch.ones_like(values, dtype=torch.bool)
    weights = valid.to(values.dtype)
    # quantile start: masked entries pushed to +inf are ignored by taking per-row quantiles
    probs = (torch.arange(n_clusters, dtype=values.dtype, device=values.device) + 0.5) / n_clusters
    filled = torch.where(valid, values, torch.nan)
    if filled.numel() > _QUANTILE_LIMIT:  # torch.quantile refuses very large inputs
        step = -(-filled.numel() // _QUANTILE_LIMIT)
        filled = filled[:, ::step]
    centers = torch.nanquantile(filled, probs, dim=1).T.contiguous()
    centers = torch.nan_to_num(centers, nan=0.0)
    if fixed_zero:
        # spread the learnable starts over the non-zero part on each side of the pinned zero
        centers = _spread_without_zero(filled, n_clusters, centers)
    for _ in range(iterations):
        full = torch.cat([centers, centers.new_zeros(g, 1)], dim=1) if fixed_zero else centers
        idx = nearest_index(values, full)
        sums = torch.zeros_like(full).scatter_add_(1, idx, values * weights)
        counts = torch.zeros_like(full).scatter_add_(1, idx, weights)
        new = torch.where(counts > 0, sums / counts.clamp_min(1e-12), full)
        new = new[:, :n_clusters]
        empty = counts[:, :n_clusters] == 0
        if empty.any():  # re-seed one empty center per row at the worst-served value
            err = (values - torch.gather(full, 1, idx)) ** 2 * weights
            worst = torch.gather(values, 1, err.argmax(dim=1, keepdim=True))
            first = empty & (empty.cumsum(dim=1) == 1)
            new = torch.where(first, worst.expand_as(new), new)
        if torch.allclose(new, centers):
            centers = new
            break
        centers = new
    return centers


def _spread_without_zero(filled: torch.Tensor, m: int, fallback: torch.Tensor) -> torch.Tensor:
    """Quantile starts taken from |w| for each sign in proportion to its share of the weights."""
    neg_share = torch.nan_to_num((filled < 0).float().sum(1) / (~filled.isnan()).float().sum(1))
    n_neg = torch.clamp(torch.round(neg_share * m), 0, m).long()
    out = fallback.clone()
    for k in torch.unique(n_neg).tolist():
        rows = (n_neg == k).nonzero().flatten()
        sub = filled[rows]
        parts = []
        if k > 0:
            neg = torch.where(sub < 0, sub, torch.nan)
            p = (torch.arange(k, dtype=sub.dtype, device=sub.device) + 0.5) / k
            parts.append(torch.nanquantile(neg, p, dim=1).T)
        if m - k > 0:
            pos = torch.where(sub > 0, sub, torch.nan)
            p = (torch.arange(m - k, dtype=sub.dtype, device=sub.device) + 0.5) / (m - k)
            parts.append(torch.nanquantile(pos, p, dim=1).T)
        out[rows] = torch.nan_to_num(torch.cat(parts, dim=1), nan=0.0)
    return out
