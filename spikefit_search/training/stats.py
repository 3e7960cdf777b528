"""Standard errors of an accuracy measured on a finite split with random input coding.

An evaluation runs each of ``n`` samples through ``R`` independent encoding draws (rate coding
is random) and keeps, per sample, the share of draws it was classified right, ``c_i``. The
accuracy is ``A = mean(c_i)``. The samples are independent draws from the data and the draws
are independent given a sample, so the ``c_i`` are independent and identically distributed and

``SE(A) = sd(c) / sqrt(n)``  (sample standard deviation, ``ddof = 1``).

This two-stage estimator counts both sources of error at once: ``Var(c_i) = Var_i(p_i) +
E[p_i (1 - p_i)] / R``, where ``p_i`` is the chance that sample ``i`` is classified right
over encodings, so the first term is the finite sample and the second the draw-to-draw spread.
With one draw (or deterministic input) it is the binomial ``sqrt(A (1 - A) / (n - 1))``.
:func:`draw_se` gives the draw-to-draw part alone.

Two networks scored on the same samples are compared with the paired standard error of their
difference, ``sd(c_a - c_b) / sqrt(n)`` (:func:`paired_se`): the samples both find hard cancel,
as in McNemar's test. Per-sample shares are stored with a trial as text (:func:`encode_correct`).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from spikefit_search.training.loop import EvalResult

MAX_DRAWS = 255
"""Per-sample counts of right draws are stored as one byte each."""


def accuracy_se(correct: np.ndarray) -> float:
    """Standard error of ``mean(correct)``: ``sd(correct, ddof=1) / sqrt(n)``; NaN below two
    samples. ``correct`` holds each sample's share of encoding draws classified right."""
    c = np.asarray(correct, dtype=np.float64)
    if c.size < 2:
        return math.nan
    return float(c.std(ddof=1) / math.sqrt(c.size))


def draw_se(correct: np.ndarray, draws: int) -> float:
    """The draw-to-draw part of :func:`accuracy_se`: ``sqrt(sum c_i (1 - c_i) / (R - 1)) / n``
    (``c_i (1 - c_i) R / (R - 1)`` is the unbiased within-sample variance of one draw); NaN for
    one draw, whose spread cannot be seen."""
    c = np.asarray(correct, dtype=np.float64)
    if draws < 2 or c.size == 0:
        return math.nan
    return float(math.sqrt(float((c * (1.0 - c)).sum()) / (draws - 1)) / c.size)


def paired_se(a: np.ndarray, b: np.ndarray) -> float:
    """Standard error of ``mean(a) - mean(b)`` for two networks scored on the same samples
    (per-sample shares, same order): ``sd(a - b, ddof=1) / sqrt(n)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have one shape, but got {a.shape} and {b.shape}.")
    return accuracy_se(a - b)


def seeds_se(correct: Sequence[np.ndarray]) -> float:
    """Standard error of the mean accuracy of ``S`` networks trained on different seeds and
    scored on the same samples (``correct[s]``: per-sample shares of seed ``s``).

    Seeds and samples are crossed random effects, so ``SE^2 = s_seeds^2 / S + s_samples^2 /
    n``: ``s_seeds^2`` the variance of the seeds' accuracies, ``s_samples^2`` that of each
    sample's share averaged over the seeds. Each term also holds part of the residual (a sample
    and seed interaction, and the draws), so the sum overstates the error by at most that
    residual's ``1 / (n S)`` share: a little conservative. One seed gives the single run's
    :func:`accuracy_se` (the seed-to-seed spread is then unseen).
    """
    runs = [np.asarray(c, dtype=np.float64) for c in correct]
    if not runs or any(r.shape != runs[0].shape for r in runs):
        raise ValueError("every seed must be scored on the same samples.")
    per_sample = np.mean(runs, axis=0)
    sample_part = accuracy_se(per_sample)
    if len(runs) < 2:
        return sample_part
    seed_means = np.array([r.mean() for r in runs])
    return float(math.sqrt(seed_means.var(ddof=1) / len(runs) + sample_part**2))


def encode_correct(counts: np.ndarray) -> str:
    """Per-sample counts of right draws (0..255) as compact text (base64 of one byte each)."""
    c = np.asarray(counts)
    if c.size and (c.min() < 0 or c.max() > MAX_DRAWS):
        raise ValueError(f"counts must be within 0..{MAX_DRAWS}, but got {c.min()}..{c.max()}.")
    return base64.b64encode(c.astype(np.uint8).tobytes()).decode("ascii")


def decode_correct(text: str, draws: int) -> np.ndarray:
    """The per-sample shares of right draws that :func:`encode_correct` stored."""
    counts = np.frombuffer(base64.b64decode(text.encode("ascii")), dtype=np.uint8)
    return counts.astype(np.float64) / max(draws, 1)


VAL_CORRECT = "val_correct"
"""Trial attribute: the per-sample counts of right draws on the validation split
(:func:`encode_correct`), for paired comparisons of trials."""


def evaluation_attrs(val: EvalResult | None, test: EvalResult | None) -> dict[str, Any]:
    """What a trial records of its evaluations: ``accuracy_se`` (validation),
    ``accuracy_draw_se`` (its draw-to-draw part), ``test_accuracy_se``, ``eval_draws`` and
    the per-sample validation results under :data:`VAL_CORRECT` (NaN or absent when not
    measured)."""
    attrs: dict[str, Any] = {
        "accuracy_se": val.se if val is not None else math.nan,
        "accuracy_draw_se": val.draw_se if val is not None else math.nan,
        "test_accuracy_se": test.se if test is not None else math.nan,
    }
    if val is not None and val.counts is not None:
        attrs["eval_draws"] = val.draws
        attrs[VAL_CORRECT] = encode_correct(val.counts)
    return attrs
