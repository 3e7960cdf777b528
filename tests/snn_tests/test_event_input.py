"""Event frames enter the network as they are (no rate coding); input reduction sums events."""

from __future__ import annotations

import pytest
import torch

from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import NetworkConfig, SpikingNetwork, encode, reduce_input


def test_events_encoder_passes_frames_step_by_step() -> None:
    x = torch.randint(0, 4, (3, 5, 2, 4, 4), dtype=torch.uint8)
    h = encode("events", x, 5)
    assert h.shape == (5, 3, 2, 4, 4) and h.dtype == torch.float32
    assert torch.equal(h[2, 1], x[1, 2].float())
    with pytest.raises(ConfigError, match=r"frames of shape \(B, T=4"):
        encode("events", x, 4)
    with pytest.raises(ConfigError, match="use encoder 'events'"):
        encode("rate", x, 5)


def test_frame_input_is_deterministic_and_counts_every_event() -> None:
    torch.manual_seed(0)
    cfg = NetworkConfig(input_shape=(2, 6, 6), hidden=(16,), timesteps=4, encoder="events")
    net = SpikingNetwork(cfg)
    x = torch.randint(0, 3, (7, 4, 2, 6, 6), dtype=torch.uint8)
    a, b = net.run(x, record=True), net.run(x, record=True)
    assert torch.equal(a.logits, b.logits)  # nothing random: the events are the input
    assert a.sums is not None and a.sums[0][0] == int(x.sum())


def test_reduce_input_groups_channels_and_pools_with_partial_edges() -> None:
    ev = torch.arange(2 * 1 * 5 * 3 * 3, dtype=torch.float32).reshape(2, 1, 5, 3, 3)
    grouped = reduce_input(ev, 1, 2)
    assert grouped.shape == (2, 1, 3, 3, 3)
    assert torch.equal(grouped[:, :, 0], ev[:, :, 0] + ev[:, :, 1])
    assert torch.equal(grouped[:, :, 2], ev[:, :, 4])  # the last, partial group
    pooled = reduce_input(ev, 2, 1)
    assert pooled.shape == (2, 1, 5, 2, 2)
    assert pooled[0, 0, 0, 1, 1] == ev[0, 0, 0, 2, 2]
    assert pooled[0, 0, 0, 0, 0] == ev[0, 0, 0, :2, :2].sum()
    assert pooled.sum() == ev.sum() == grouped.sum()


def test_reduced_network_sees_fewer_inputs_and_the_same_events() -> None:
    cfg = NetworkConfig(
        input_shape=(700, 1, 1), hidden=(8,), timesteps=2, encoder="events", input_group=44
    )
    assert cfg.reduced_input_shape == (16, 1, 1)
    assert cfg.layer_specs()[0].n_inputs == 16
    x = torch.randint(0, 2, (3, 2, 700, 1, 1), dtype=torch.uint8)
    out = SpikingNetwork(cfg).run(x, record=True)
    assert out.sums is not None and out.sums[0][0] == int(x.sum())
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="input_pool must be at least 1"):
        NetworkConfig(input_pool=0)
