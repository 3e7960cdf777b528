"""Quantizers: the learnable codebook of CAT and uniform fixed-point QAT."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import nn

from spikefit_search.compression._base import (
    BaseQuantizer,
    check_bits,
    check_n_values,
    check_scope,
    check_zero_fraction,
    grid_levels,
    grid_range,
)
from spikefit_search.compression.kmeans import kmeans_1d, nearest_index
from spikefit_search.exceptions import ConfigError

CodebookInit = Literal["kmeans", "quantile", "kmeans_zero"]
CODEBOOK_INITS = ("kmeans", "kmeans_zero", "quantile")
ZERO_FLOOR_SAMPLE = 16_384
"""Weights per scope (evenly strided) from which a training call takes the zero floor's
threshold; evaluation takes it from all of them."""


class ClusterQuantizer(BaseQuantizer):
    """Clusterization-aware training (CAT): a learnable codebook of ``M`` fixed-point values.

    Every weight is replaced by its nearest codebook value (re-assigned on every call). Value
    ``j`` of a scope is ``scale * round(u_j)``: the latent ``u`` (:attr:`codebook`) lives in
    grid steps, and ``scale = exp(log_scale)`` is one learnable step per layer. Gradients
    reach the latent weights and ``u`` straight through the rounding; ``u_j`` receives its
    members' summed gradient and the step the gradient of all values together, as in LSQ
    (Esser et al., 2020), so both the values and the grid they sit on learn.

    Initialisation never collapses: ``M`` k-means centers are fitted to the weights, the scale
    is the one (from a grid of candidates) that minimises the squared error of the weights
    quantized through the snapped codebook, and the snapped centers are moved to ``M``
    distinct integer levels, none of them zero unless zero is one of the ``M``
    (``init="kmeans_zero"``, or a center that k-means put at zero without ``zero_is_free``).
    :meth:`clamp_and_reseed` (called after every optimizer step by :func:`finetune_optimizer`) keeps
    ``u`` inside the ``b``-bit range and re-seeds a value that merged with another or snapped
    to the free zero (to the nearest free level) or lost all its members (next to the most
    populated value: a split).

    Args:
        weight: the layer's latent weight, ``(out, ...)``; initialises scale and codebook.
        n_values: learnable values ``M`` per scope, at least 2.
        bits: fixed-point bits ``b`` in 2..8.
        scope: ``"layer"`` (one codebook) or ``"neuron"`` (one per output neuron/channel).
        zero_is_free: keep a fixed zero code beside the ``M`` learnable values, so clustering
            also removes synapses; when False, zero is one of the ``M`` values if used at all.
        mask: 0/1 tensor of live synapses; pruned ones are left out of the initialisation.
        init: ``"kmeans"`` (1-D k-means started at quantiles), ``"quantile"``, or
            ``"kmeans_zero"``: one of the ``M`` values starts at exactly 0 and the other ``M-1``
            come from k-means around it (without ``zero_is_free``, zero then counts toward
            ``M`` but is available from the start).
        learnable: False freezes codebook and scale (post-training k-means).
        zero_fraction: with ``zero_is_free``, at least this fraction (in [0, 1)) of every
            scope's synapses take the free zero: the smallest magnitudes among the non-zero
            latent weights (a pruned synapse is exactly zero and is not counted), besides
            those nearest to zero anyway. Magnitude pruning inside the zero code, as Deep
            Compression prunes before it clusters (Han et al., 2016); a weight sent to zero
            still learns straight through and leaves zero when it outgrows the threshold.
        symmetric: leave ``-2^(b-1)`` out of the grid (codes in ``[-(2^(b-1)-1), 2^(b-1)-1]``),
            for a chip whose weight range is symmetric around zero; ``M`` is then at most
            ``2^b - 1`` (one fewer again with ``zero_is_free``).
        scale: the grid step to start from instead of the fitted one (a recurrent weight
            starts on its layer's grid, whose step it then shares).

    Shape:
        weight: any ``(out, ...)``; output: the same.

    Example:
        >>> w = torch.randn(8, 16)
        >>> q = ClusterQuantizer(w, n_values=3, bits=4)
        >>> len(torch.unique(q(w))) == 3
        True
    """

    initial_values: torch.Tensor

    def __init__(
        self,
        weight: torch.Tensor,
        *,
        n_values: int,
        bits: int,
        scope: str = "layer",
        zero_is_free: bool = False,
        mask: torch.Tensor | None = None,
        init: CodebookInit = "kmeans",
        learnable: bool = True,
        symmetric: bool = False,
        zero_fraction: float = 0.0,
        scale: float | None = None,
    ) -> None:
        super().__init__()
        self.zero_fraction = check_zero_fraction(zero_fraction, zero_is_free=zero_is_free)
        self.bits = check_bits(bits)
        self.n_values = check_n_values(n_values)
        self.scope = check_scope(scope)
        self.zero_is_free = bool(zero_is_free)
        self.symmetric = bool(symmetric)
        self.learnable = bool(learnable)
        grid = grid_levels(bits, symmetric=self.symmetric, zero_is_free=self.zero_is_free)
        if n_values > grid:
            raise ConfigError(
                f"n_values must be at most the {grid} levels of a "
                f"{'symmetric ' if self.symmetric else ''}{bits}-bit grid"
                f"{' besides the free zero' if zero_is_free else ''}, but got n_values={n_values}."
            )
        if init not in CODEBOOK_INITS:
            raise ConfigError(
                f"init must be one of {', '.join(CODEBOOK_INITS)}, but got init={init!r}."
            )
        g = self.groups(weight)
        flat = weight.detach().float().reshape(g, -1)
        valid = None if mask is None else mask.detach().reshape(g, -1).bool()
        with_zero = init == "kmeans_zero" and not self.zero_is_free
        centers = kmeans_1d(
            flat,
            n_values - 1 if with_zero else n_values,
            valid=valid,
            fixed_zero=self.zero_is_free or with_zero,
            iterations=0 if init == "quantile" else 25,
        )
        scale = (
            scale
            if scale is not None
            else fit_scale(
                flat,
                centers,
                valid=valid,
                bits=bits,
                nonzero=self.zero_is_free or with_zero,
                extra_zero=self.zero_is_free or with_zero,
                symmetric=self.symmetric,
                neurons=weight.shape[0],
            )
        )
        k = distinct_levels(
            centers / scale,
            bits=bits,
            nonzero=self.zero_is_free or with_zero,
            symmetric=self.symmetric,
        )
        if with_zero:
            k = torch.cat([k.new_zeros(g, 1), k], dim=1)
        dtype = weight.dtype
        self.codebook = nn.Parameter(k.to(dtype), requires_grad=learnable)
        self.log_scale = nn.Parameter(
            torch.tensor(math.log(scale), dtype=dtype), requires_grad=learnable
        )
        # snapped values at the start, for the drift report (not part of a checkpoint)
        self.register_buffer("initial_values", (k * scale).to(dtype), persistent=False)
        # the last training call's weights, cells and cell table; its cluster sizes on demand
        self._last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._members: torch.Tensor | None = None
        self._lut_cache: tuple[torch.Tensor, torch.Tensor] | None = None
        self._ones_cache: torch.Tensor | None = None

    def _width(self) -> int:
        return self.n_values + (1 if self.zero_is_free else 0)

    @property
    def scale(self) -> torch.Tensor:
        """The layer's fixed-point step ``exp(log_scale)``, a 0-dim tensor (no gradient)."""
        return self.log_scale.detach().exp()

    @scale.setter
    def scale(self, value: torch.Tensor | float) -> None:
        with torch.no_grad():
            self.log_scale.copy_(torch.as_tensor(value, dtype=self.log_scale.dtype).log())

    def integer_values(self) -> torch.Tensor:
        """The learnable values as integers ``k``: ``(groups, M)`` int64."""
        return torch.round(self.codebook.detach()).clamp_(self.k_min, self.k_max).long()

    def values(self) -> torch.Tensor:
        """Snapped codebook ``scale * k``, ``(groups, M)``, straight-through to codebook and
        scale."""
        u = self.codebook
        k = torch.round(u.detach()).clamp_(self.k_min, self.k_max)
        return (k + (u - u.detach())) * self.log_scale.exp()

    def _table(self) -> torch.Tensor:
        q = self.values()
        if self.zero_is_free:
            q = torch.cat([q.new_zeros(q.shape[0], 1), q], dim=1)
        return q

    def _cells(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Half-step cell of every weight of ``flat`` (``(groups, K)``) and, per cell, the
        index of the nearest table value: ``(cells, lut)``, int64.

        Every value is ``scale * k``, so every boundary between two values lies on the half-step
        grid: the nearest value is looked up per half-step cell (at most ``2^(b+1)`` cells per
        scope) instead of compared per weight. Ties go to the lower value, as in
        :func:`nearest_index`.
        """
        with torch.no_grad():
            lo, hi = 2 * self.k_min, 2 * self.k_max + 1
            half_steps = torch.mul(flat, 2.0 / self.scale)
            if self.zero_fraction > 0:  # position 0 is the zero's cell
                half_steps.mul_(self._above_zero_floor(flat))
            cells = half_steps.ceil_().clamp_(lo, hi).sub_(lo).long()
            return cells, self._lut()

    def _above_zero_floor(self, flat: torch.Tensor) -> torch.Tensor:
        """Which weights of ``flat`` keep their nearest value: all but the ``zero_fraction``
        smallest non-zero weights of every scope, which go to the free zero (1.0 keeps, 0.0
        sends to zero; shaped like ``flat``).

        The threshold is the k-th smallest magnitude; in training it is taken from at most
        :data:`ZERO_FLOOR_SAMPLE` evenly strided weights per scope (a full selection over a
        784 x 256 layer costs a fifth of a training step), in evaluation from all of them. The
        mask is 1.0 / 0.0 and multiplies rather than fills (a fill of half of the weights is
        several times slower on the CPU); ``sign`` then ``clamp`` makes it in float kernels,
        about half the time of a comparison and a multiply by the bool result."""
        mag = flat.abs()
        sample = mag
        if self.training and mag.shape[1] > ZERO_FLOOR_SAMPLE:
            sample = mag[:, :: -(-mag.shape[1] // ZERO_FLOOR_SAMPLE)]
        present = torch.count_nonzero(sample, dim=1)
        kth = sample.shape[1] - present + (present * self.zero_fraction).long()
        threshold = mag.new_zeros(mag.shape[0], 1)  # k = 0 (nothing present): keep all
        for k in kth.unique().tolist():  # scopes that share k share one selection
            if k > 0:
                rows = (kth == k).nonzero().flatten()
                values = sample.index_select(0, rows).kthvalue(int(k), dim=1, keepdim=True)
                threshold[rows] = values.values
        # 1 where mag > threshold, else 0 (a pruned synapse, 0, is at zero either way)
        return mag.sub_(threshold).sign_().clamp_(min=0)

    def _lut(self) -> torch.Tensor:
        """Per half-step cell, the index of the nearest table value, ``(groups, cells)`` int64.

        It depends only on the integer levels, which change far less often than the latent
        codebook moves, so the last table is kept and rebuilt when the levels differ."""
        k = self.integer_values()
        if self._lut_cache is not None:
            levels, lut = self._lut_cache
            if levels.shape == k.shape and levels.device == k.device and torch.equal(levels, k):
                return lut
        table = k.float()
        if self.zero_is_free:
            table = torch.cat([table.new_zeros(table.shape[0], 1), table], dim=1)
        lo, hi = 2 * self.k_min, 2 * self.k_max + 1
        # cell c holds the half-step positions t in (c - 1, c]; its middle decides
        middles = (torch.arange(lo, hi + 1, dtype=table.dtype, device=k.device) - 0.5) / 2
        lut = nearest_index(middles.expand(k.shape[0], -1), table)
        self._lut_cache = (k, lut)
        return lut

    def _ones(self, cells: torch.Tensor) -> torch.Tensor:
        """A kept tensor of ones shaped like ``cells`` (counting by a scatter-add of ones is
        faster on the CPU than ``bincount``, which first scans for the minimum and maximum)."""
        ones = self._ones_cache
        if ones is None or ones.shape != cells.shape or ones.device != cells.device:
            ones = self._ones_cache = torch.ones_like(cells)
        return ones

    def _assign(self, flat: torch.Tensor) -> torch.Tensor:
        """Index of the nearest table value for every weight of ``flat`` (``(groups, K)``)."""
        cells, lut = self._cells(flat)
        return torch.gather(lut, 1, cells)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        table = self._table()
        flat = weight.reshape(table.shape[0], -1)
        cells, lut = self._cells(flat.detach())
        if self.training and torch.is_grad_enabled() and self.codebook.requires_grad:
            self._last = (flat.detach(), cells, lut)  # for clamp_and_reseed()
            self._members = None
        # each cell's value (the gradient reaches the table through the gather), one lookup
        return _Lookup.apply(torch.gather(table, 1, lut), cells, flat).reshape(weight.shape)

    @torch.no_grad()
    def clamp_and_reseed(self) -> int:
        """Clamp the latent codebook to the ``b``-bit range and re-seed dead values.

        A value that snapped to the same integer as another value of its scope, or to zero
        while zero is free, moves to the free level nearest to its latent position (so a
        positive value pushed onto the free zero stays positive). A value that had no members
        in the last training call moves to the free level next to the scope's most populated
        value, on the side where that value's members sit (splitting the largest cluster).
        Returns the number of values re-seeded. A frozen codebook (no gradient: see
        :func:`~spikefit_search.compression.freeze_codebooks`) is left as it is.
        """
        u = self.codebook
        if not u.requires_grad:
            return 0
        u.clamp_(self.k_min, self.k_max)
        k = torch.round(u)
        if k.shape[0] == 1 and self._nothing_to_reseed(k[0].tolist()):
            return 0  # the common case in one scope, decided without a dozen small tensor ops
        m = k.shape[1]
        col = 1 if self.zero_is_free else 0
        counts = self.members[:, col:]
        seen = self._last is not None  # a training call since the last re-seed
        srt, order = torch.sort(k, dim=1)
        collided = torch.zeros_like(k, dtype=torch.bool)
        collided.scatter_(1, order[:, 1:], srt[:, 1:] == srt[:, :-1])
        if self.zero_is_free:
            collided |= k == 0
        memberless = (counts == 0) & ~collided if seen else torch.zeros_like(collided)
        dead = collided | memberless
        rows = dead.any(dim=1).nonzero().flatten().tolist()
        reseeded = 0
        for r in rows:
            levels = set(range(self.k_min, self.k_max + 1))
            if self.zero_is_free:
                levels.discard(0)
            alive = [j for j in range(m) if not bool(dead[r, j])]
            taken = {int(k[r, j]) for j in alive}
            for j in range(m):
                if not bool(dead[r, j]):
                    continue
                free = sorted(levels - taken)
                if not free:
                    break
                if bool(memberless[r, j]) and alive:  # split the largest cluster
                    big = max(alive, key=lambda a: float(counts[r, a]))
                    centre = float(k[r, big]) + 0.25 * self._member_side(r, col + big)
                else:  # a collision: the free level nearest to where the loss put it
                    centre = float(u[r, j])
                level = min(free, key=lambda v: (abs(v - centre), -abs(v)))
                u[r, j] = float(level)
                taken.add(level)
                alive.append(j)
                reseeded += 1
        if reseeded:
            self._last = None
            self._members = None
        return reseeded

    def _nothing_to_reseed(self, levels: list[float]) -> bool:
        """Whether one scope's values (``levels``, rounded) are distinct, off the free zero,
        and (after a training call) each has members: :meth:`clamp_and_reseed` has nothing to do.

        A value without members gets exactly no gradient, so a non-zero gradient on every
        value settles the last point without counting; only a zero one is counted."""
        if len(set(levels)) < len(levels) or (self.zero_is_free and 0.0 in levels):
            return False
        if self._last is None:
            return True
        grad = self.codebook.grad
        if grad is not None and 0.0 not in grad[0].tolist():
            return True
        col = 1 if self.zero_is_free else 0
        return min(self.members[0, col:].tolist()) > 0

    @property
    def members(self) -> torch.Tensor:
        """Weights per table value (the free zero first) in the last training call,
        ``(groups, values)`` int64; zeros before the first call and after a re-seed."""
        if self._members is None:
            if self._last is None:
                width = self._width()
                return torch.zeros(
                    self.codebook.shape[0], width, dtype=torch.long, device=self.codebook.device
                )
            _, cells, lut = self._last
            per_cell = _scatter_sum(cells, self._ones(cells), lut.shape[1])
            self._members = _scatter_sum(lut, per_cell, self._width())
        return self._members

    def _member_side(self, row: int, column: int) -> float:
        """+1 when the members of table column ``column`` of scope ``row`` sit above their
        value on average (in the last training call), else -1."""
        if self._last is None:
            return 1.0
        flat, cells, lut = self._last
        members = flat[row][lut[row][cells[row]] == column]
        if members.numel() == 0:
            return 1.0
        value = float(self._table().detach()[row, column])
        return 1.0 if float(members.mean()) >= value else -1.0

    def drift(self) -> float:
        """Mean distance of the snapped values from their start, in (current) grid steps."""
        with torch.no_grad():
            now = self.values().detach()
            return float(((now - self.initial_values).abs() / self.scale).mean())

    def levels(self) -> torch.Tensor:
        k = self.integer_values()
        if self.zero_is_free:
            k = torch.cat([k.new_zeros(k.shape[0], 1), k], dim=1)
        return k

    def codes(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            table = self._table()
            idx = self._assign(weight.reshape(table.shape[0], -1))
        return idx.reshape(weight.shape)

    def extra_repr(self) -> str:
        return (
            f"n_values={self.n_values}, bits={self.bits}, scope={self.scope!r}, "
            f"zero_is_free={self.zero_is_free}{', symmetric=True' if self.symmetric else ''}"
            + (f", zero_fraction={self.zero_fraction:g}" if self.zero_fraction else "")
        )


class _Lookup(torch.autograd.Function):
    """``table[g, idx]`` forward; the gradient goes to the weights unchanged (straight
    through) and to each table entry as the sum over its members, in one pass."""

    @staticmethod
    def forward(ctx: Any, table: torch.Tensor, idx: torch.Tensor, flat: torch.Tensor) -> Any:
        ctx.save_for_backward(idx)
        ctx.width = table.shape[1]
        if table.shape[0] == 1:  # one scope: index_select is the faster kernel on the CPU
            return table[0].index_select(0, idx[0])[None]
        return torch.gather(table, 1, idx)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        (idx,) = ctx.saved_tensors
        table_grad = _scatter_sum(idx, grad, ctx.width) if ctx.needs_input_grad[0] else None
        return table_grad, None, grad if ctx.needs_input_grad[2] else None


def _scatter_sum(idx: torch.Tensor, src: torch.Tensor, width: int) -> torch.Tensor:
    """Row by row, the sum of ``src`` over each index of ``idx`` (both ``(G, K)``):
    ``(G, width)``. One row is scattered as a vector, the faster kernel on the CPU."""
    out = src.new_zeros(idx.shape[0], width)
    if idx.shape[0] == 1:
        out[0].scatter_add_(0, idx[0], src[0])
        return out
    return out.scatter_add_(1, idx, src)


def distinct_levels(
    u: torch.Tensor, *, bits: int, nonzero: bool, symmetric: bool = False
) -> torch.Tensor:
    """Round each row of ``u`` (grid units) to distinct integer levels of the ``b``-bit grid
    (without ``-2^(b-1)`` when ``symmetric``), keeping the order of the values and leaving out
    0 when ``nonzero``.

    A value whose nearest level is taken moves to the next free one (and, near the ends of
    the range, its neighbours move to make room), so ``M`` values always get ``M`` levels
    when the grid has them. Returns ``(G, M)`` float integers in the original column order.
    """
    k_min, k_max = grid_range(bits, symmetric=symmetric)
    allowed = torch.arange(k_min, k_max + 1, dtype=u.dtype, device=u.device)
    if nonzero:
        allowed = allowed[allowed != 0]
    n_levels, m = allowed.numel(), u.shape[1]
    srt, order = torch.sort(u, dim=1)
    r = torch.round(srt).clamp(k_min, k_max)
    if nonzero:  # the nearest level that is not zero, and its index without zero
        r = torch.where(r == 0, torch.where(srt < 0, -1.0, 1.0).to(r.dtype), r)
        near = (r - k_min - (r > 0).to(r.dtype)).long()
    else:
        near = (r - k_min).long()
    # left to right, each above the previous one and leaving room for the rest:
    # pos_i = min(max(near_i, pos_{i-1} + 1), L - M + i), in closed form
    i = torch.arange(m, device=u.device)
    pos = torch.minimum(torch.cummax(near - i, dim=1).values + i, n_levels - m + i)
    out = torch.empty_like(srt)
    out.scatter_(1, order, allowed[pos])
    return out


def fit_scale(
    values: torch.Tensor,
    centers: torch.Tensor,
    *,
    valid: torch.Tensor | None,
    bits: int,
    nonzero: bool,
    extra_zero: bool,
    symmetric: bool = False,
    neurons: int | None = None,
) -> float:
    """The grid step that minimises the squared error of ``values`` quantized to the nearest
    snapped center (plus a zero level when ``extra_zero``), searched over 32 candidates from
    ``max|c| / (4 k_max)`` to ``2 max|c| / k_max``, among the steps that leave every neuron
    with a weight off zero.

    The snapped codebook is :func:`distinct_levels` of ``centers / step``, so no candidate
    merges values or rounds them to zero. At most 65536 weights (evenly strided in every row)
    enter the fit. ``symmetric`` leaves ``-2^(b-1)`` out of the grid. ``values`` holds
    ``neurons`` neurons (default: one per row), each a contiguous run of its row's weights.
    A neuron whose weights all quantize to zero is dead (and still costs a neuron on the chip):
    with heavy-tailed weights, a step set by the outliers silences the quiet neurons. Where
    every candidate does, 16 more are tried below twice the quietest neuron's largest weight;
    the least error wins if none keeps every neuron.
    """
    top = float(centers.abs().max()) if centers.numel() else 0.0
    if top <= 0 or not math.isfinite(top):
        top = float(values.abs().max()) if values.numel() else 0.0
    if top <= 0:
        return 1.0
    k_max = 2 ** (bits - 1) - 1
    g, m = centers.shape
    stride = max(1, values.shape[1] // max(1, 65536 // g))
    x = values[:, ::stride]
    w = torch.ones_like(x) if valid is None else valid[:, ::stride].to(x.dtype)
    # every neuron's largest and smallest live weight join the fit with no weight: a neuron is
    # dead at a step exactly when both quantize to zero (the nearest level of a weight is
    # non-zero from some magnitude on, on each side)
    n = g if neurons is None else neurons
    per = values.reshape(n, -1)
    ok = None if valid is None else valid.reshape(n, -1).bool()
    hi = (per if ok is None else per.masked_fill(~ok, -math.inf)).max(dim=1).values
    lo = (per if ok is None else per.masked_fill(~ok, math.inf)).min(dim=1).values
    live = torch.isfinite(hi)  # a neuron with no live weight is at zero whatever the step
    ends = torch.stack([hi, lo], dim=1).where(live[:, None], 0.0).reshape(g, -1)
    x = torch.cat([x, ends], dim=1)
    w = torch.cat([w, torch.zeros_like(ends)], dim=1)

    def errors(steps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Squared error of every step, and whether it keeps every live neuron off zero."""
        c = len(steps)
        u = (centers[None] / steps[:, None, None]).reshape(c * g, m)
        snapped = distinct_levels(u, bits=bits, nonzero=nonzero, symmetric=symmetric)
        table = snapped * steps.repeat_interleave(g)[:, None]
        if extra_zero:
            table = torch.cat([table.new_zeros(c * g, 1), table], dim=1)
        xx = x.repeat(c, 1)
        q = torch.gather(table, 1, nearest_index(xx, table))
        err = (((q - xx) ** 2) * w.repeat(c, 1)).reshape(c, -1).sum(dim=1)
        alive = (q[:, -ends.shape[1] :] != 0).reshape(c, n, 2).any(dim=2) | ~live
        return err, alive.all(dim=1)

    steps = top * torch.logspace(math.log10(0.25), math.log10(2.0), 32, dtype=x.dtype) / k_max
    err, keeps = errors(steps)
    if not bool(keeps.any()) and bool(live.any()):
        quietest = float(torch.maximum(hi.abs(), lo.abs())[live].min())
        if quietest > 0:
            more = 2 * quietest * torch.logspace(math.log10(0.25), math.log10(0.99), 16)
            steps = more.to(x.dtype)
            err, keeps = errors(steps)
    if bool(keeps.any()):
        err = torch.where(keeps, err, torch.full_like(err, math.inf))
    return float(steps[int(err.argmin())])


class UniformQuantizer(BaseQuantizer):
    """Uniform quantization-aware training: round to the signed ``b``-bit grid ``scale * k``.

    The baseline without a codebook: all ``2^b`` levels (zero included; ``2^b - 1`` on a
    ``symmetric`` grid, which leaves out ``-2^(b-1)``) are available, the
    per-layer scale is fixed at construction to the one that minimises the squared rounding
    error of the initial weights, and gradients pass straight through the rounding.

    Args:
        weight: the latent weight, sets the scale.
        bits: bit-width in 2..8.
        mask: 0/1 tensor of live synapses, left out of the scale fit.
        symmetric: codes in ``[-(2^(b-1)-1), 2^(b-1)-1]`` (a chip with a symmetric range).

    Example:
        >>> w = torch.randn(8, 16)
        >>> len(torch.unique(UniformQuantizer(w, bits=2)(w))) <= 4
        True
    """

    def __init__(
        self,
        weight: torch.Tensor,
        *,
        bits: int,
        mask: torch.Tensor | None = None,
        symmetric: bool = False,
    ) -> None:
        super().__init__()
        self.bits = check_bits(bits)
        self.symmetric = bool(symmetric)
        self.n_values = grid_levels(bits, symmetric=self.symmetric)
        self.scope = "layer"
        self.zero_is_free = False
        self.register_buffer("scale", torch.tensor(self._fit_scale(weight, mask)))

    def _fit_scale(self, weight: torch.Tensor, mask: torch.Tensor | None) -> float:
        w = weight.detach().flatten()
        if mask is not None:
            w = w[mask.detach().flatten() != 0]
        top = float(w.abs().max()) if w.numel() else 0.0
        if top == 0.0:
            return 1.0
        candidates = top * torch.linspace(0.02, 1.0, 50, dtype=w.dtype) / self.k_max
        errors = [
            float(((torch.round(w / s).clamp(self.k_min, self.k_max) * s - w) ** 2).sum())
            for s in candidates
        ]
        return float(candidates[int(torch.tensor(errors).argmin())])

    def _k(self, weight: torch.Tensor) -> torch.Tensor:
        return torch.round(weight.detach() / self.scale).clamp_(self.k_min, self.k_max)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return self._k(weight) * self.scale + (weight - weight.detach())

    def levels(self) -> torch.Tensor:
        return torch.arange(self.k_min, self.k_max + 1, device=self.scale.device)[None]

    def codes(self, weight: torch.Tensor) -> torch.Tensor:
        return (self._k(weight) - self.k_min).long()

    def extra_repr(self) -> str:
        return f"bits={self.bits}{', symmetric=True' if self.symmetric else ''}"
