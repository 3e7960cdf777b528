"""SpikeFit compression: learnable codebooks at ``b`` bits (CAT), Fisher Spike Contribution
neuron pruning, Fisher synapse pruning for fan-in caps, and the baselines they are compared with
(uniform QAT, post-training k-means, magnitude and random neuron pruning).

Example:
    >>> from spikefit_search.compression import PipelineConfig, run_pipeline
    >>> from spikefit_search.data import load_dataset
    >>> from spikefit_search.snn import NetworkConfig
    >>> cfg = PipelineConfig(NetworkConfig(hidden=(32,), timesteps=4), rho=0.25,
    ...                      warmup_epochs=1, finetune_epochs=1)
    >>> result = run_pipeline(cfg, load_dataset("digits"))  # doctest: +SKIP
"""

from __future__ import annotations

from spikefit_search.compression._base import (
    SCOPES,
    BaseQuantizer,
    BaseWeightPruner,
    grid_levels,
    grid_range,
)
from spikefit_search.compression.checkpoint import load_checkpoint, save_checkpoint
from spikefit_search.compression.export import IntegerWeights, integer_export
from spikefit_search.compression.fisher import fisher_spike_contribution, synapse_fisher
from spikefit_search.compression.kmeans import kmeans_1d, nearest_index
from spikefit_search.compression.methods import (
    QUANTIZATION_METHODS,
    CodebookUsage,
    attach_quantizers,
    codebook_usage,
)
from spikefit_search.compression.neurons import (
    NEURON_SCORES,
    BaseNeuronScore,
    FisherSpikeScore,
    MagnitudeNeuronScore,
    RandomNeuronScore,
    mask_neurons,
    prune_neurons,
    select_neurons,
    shrink_network,
)
from spikefit_search.compression.pipeline import (
    CandidateStopped,
    PipelineConfig,
    PipelineResult,
    codebook_parameters,
    finetune_optimizer,
    freeze_codebooks,
    run_pipeline,
    warm_up,
)
from spikefit_search.compression.quantization import ClusterQuantizer, UniformQuantizer
from spikefit_search.compression.weight_pruning import FisherWeightPruner

__all__ = [
    "NEURON_SCORES",
    "QUANTIZATION_METHODS",
    "SCOPES",
    "BaseNeuronScore",
    "BaseQuantizer",
    "BaseWeightPruner",
    "CandidateStopped",
    "ClusterQuantizer",
    "CodebookUsage",
    "FisherSpikeScore",
    "FisherWeightPruner",
    "IntegerWeights",
    "MagnitudeNeuronScore",
    "PipelineConfig",
    "PipelineResult",
    "RandomNeuronScore",
    "UniformQuantizer",
    "attach_quantizers",
    "codebook_parameters",
    "codebook_usage",
    "finetune_optimizer",
    "fisher_spike_contribution",
    "freeze_codebooks",
    "grid_levels",
    "grid_range",
    "integer_export",
    "kmeans_1d",
    "load_checkpoint",
    "mask_neurons",
    "nearest_index",
    "prune_neurons",
    "run_pipeline",
    "save_checkpoint",
    "select_neurons",
    "shrink_network",
    "synapse_fisher",
    "warm_up",
]
