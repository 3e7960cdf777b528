"""Synapse memory of one core, after nengo-loihi's encoding (Loihi's ``MAX_SYNAPSE_BITS``).

Source: nengo/nengo-loihi@e564f66 ``nengo_loihi/block.py`` (``SynapseConfig.bits_per_axon``,
``WEIGHT_BITS_MAP``, ``INDEX_BITS_MAP``; dense weights use ``n_synapses = 63``).
"""

from __future__ import annotations

import math

WEIGHT_BITS_MAP = (0, 1, 2, 3, 4, 5, 6, 8)
INDEX_BITS_MAP = (0, 6, 7, 8, 9, 10, 11, 12)
SYNAPSES_PER_BLOCK = 64  # n_synapses = 63, blocks of n_synapses + 1
BLOCK_HEADER_BITS = 4 + 6  # synapse_idx_bits + n_synapses_bits
WORD_BITS = 64


def _stored_bits(bits: int, table: tuple[int, ...]) -> int:
    """The smallest entry of ``table`` holding ``bits`` (the largest one if none does)."""
    return next((v for v in table if v >= bits), table[-1])


def loihi_axon_bits(n_weights: int, bits_per_weight: int) -> int:
    """Synapse memory of one input axon with ``n_weights`` synapses (nengo-loihi's
    ``bits_per_axon``): blocks of 64 synapses, each ``n * bits + 10`` header bits rounded up
    to 64-bit words.

    Example:
        >>> loihi_axon_bits(1024, 8)  # a dense row into a full core: 16 blocks of 9 words
        9216
    """
    total = 0
    for start in range(0, n_weights, SYNAPSES_PER_BLOCK):
        n = min(n_weights - start, SYNAPSES_PER_BLOCK)
        total += WORD_BITS * math.ceil((n * bits_per_weight + BLOCK_HEADER_BITS) / WORD_BITS)
    return total


def stored_weight_bits(bits: int) -> int:
    """The stored width of a ``bits``-bit weight (``WEIGHT_BITS_MAP``)."""
    return _stored_bits(bits, WEIGHT_BITS_MAP)


def index_bits(neurons: int) -> int:
    """Index bits of the sparse encoding for a core of ``neurons`` (``INDEX_BITS_MAP``)."""
    return _stored_bits(max(math.ceil(math.log2(max(neurons, 2))), 1), INDEX_BITS_MAP)


def dense_core_bits(axons: int, neurons: int, bits: int) -> int:
    """Dense encoding: every one of ``axons`` inputs stores a weight for each of ``neurons``."""
    return axons * loihi_axon_bits(neurons, stored_weight_bits(bits))
