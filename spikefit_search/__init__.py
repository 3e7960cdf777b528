"""spikefit-search: spiking networks that fit a neuromorphic chip.

Trains candidates with SpikeFit (clusterization-aware training with a learnable codebook plus
Fisher Spike Contribution pruning), checks them against a chip's limits and searches the
accuracy-versus-energy trade-off with Optuna.
"""

from __future__ import annotations

__version__ = "0.1.0"

from spikefit_search.exceptions import SpikefitError

__all__ = ["SpikefitError", "__version__"]
