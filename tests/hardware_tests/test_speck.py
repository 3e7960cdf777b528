from __future__ import annotations

from spikefit_search.hardware import (
    ConstraintUsage,
    load_profile,
    match_cores,
    speck_layer_memory,
    static_check,
)
from spikefit_search.snn import NetworkConfig

KI = 1024


def _conv(**kwargs: object) -> NetworkConfig:
    base: dict[str, object] = {
        "kind": "conv",
        "beta": 1.0,
        "hidden": (),
        "n_classes": 10,
        "readout": "spikes",
    }
    base.update(kwargs)
    return NetworkConfig(**base)  # type: ignore[arg-type]


def test_worked_example_16_to_32_does_not_fit() -> None:
    net = _conv(input_shape=(16, 64, 64), channels=(32,), kernel=3, padding=1, pool=4)
    spec = net.layer_specs()[0]
    memory = speck_layer_memory(spec)
    assert (memory.kernel, memory.neuron) == (8 * KI, 128 * KI)
    speck = load_profile("speck")
    assert speck.mapping.candidate_cores(memory) == []  # type: ignore[attr-defined]
    result = static_check(speck, net, n_values=16, bits=8)
    assert not result.fits
    neuron = [u for u in result.violations if u.name == "neuron_memory"]
    assert [u.where for u in neuron] == ["layer 0"]
    assert neuron[0].message() == "neuron memory on layer 0: 128Ki > 64Ki on every core"
    assert result.margins()["neuron_memory"] == 1.0
    kernel0 = [u for u in result.usages if u.name == "kernel_memory" and u.where == "layer 0"]
    assert kernel0[0].usage == 8 * KI and not kernel0[0].violated
    assert 0 not in result.details["placement"]  # type: ignore[operator]


def test_worked_example_2_to_16_stride_2_fits_only_cores_0_to_2() -> None:
    net = _conv(input_shape=(2, 128, 128), channels=(16,), kernel=3, stride=2, padding=1, pool=4)
    spec = net.layer_specs()[0]
    assert spec.out_size == (64, 64)
    memory = speck_layer_memory(spec)
    assert (memory.kernel, memory.neuron) == (512, 64 * KI)
    speck = load_profile("speck")
    assert speck.mapping.candidate_cores(memory) == [0, 1, 2]  # type: ignore[attr-defined]
    result = static_check(speck, net, n_values=16, bits=8)
    assert result.details["candidates"][0] == [0, 1, 2]  # type: ignore[index]
    assert result.details["placement"][0] in (0, 1, 2)  # type: ignore[index]
    # the readout Linear over the 16x16 pooled map: kernel 16x16, fits too
    assert result.fits, result.messages()


def test_linear_as_full_input_conv() -> None:
    net = NetworkConfig(input_shape=(1, 28, 28), hidden=(64,), beta=1.0)
    result = static_check("speck", net, n_values=16, bits=8)
    kernel = result.worst("kernel_size")
    assert kernel is not None and kernel.usage == 28 and kernel.violated
    memory = speck_layer_memory(net.layer_specs()[0])
    assert memory.kernel == 1 * 2 ** (10 + 6)  # 784 -> 2^10 entries, 64 -> 2^6
    assert memory.neuron == 64


def test_ten_layers_need_too_many_cores() -> None:
    net = _conv(input_shape=(1, 16, 16), channels=(4,) * 9, padding=1)
    assert len(net.layer_specs()) == 10
    result = static_check("speck", net, n_values=16, bits=8)
    cores = result.worst("cores")
    assert cores is not None and (cores.usage, cores.limit) == (10, 9)
    assert result.worst("core_assignment").usage == 1  # type: ignore[union-attr]
    assert "fits no free core" in " ".join(result.messages())
    nine = _conv(input_shape=(1, 16, 16), channels=(4,) * 8, padding=1)
    assert static_check("speck", nine, n_values=16, bits=8).fits


def test_matching_needs_augmenting_paths() -> None:
    # greedy would give layer 0 core 0 and strand layer 1
    assert match_cores([[0, 1], [0]]) == {0: 1, 1: 0}
    assert len(match_cores([[0], [0], [1]])) == 2


def test_speck_rejects_lif_and_float_weights() -> None:
    net = NetworkConfig(input_shape=(1, 8, 8), hidden=(32,))
    result = static_check("speck", net)
    names = {u.name for u in result.violations}
    assert {"neuron_model", "weight_bits"} <= names
    ok = static_check(
        "speck",
        NetworkConfig(input_shape=(1, 8, 8), hidden=(32,), beta=1.0, readout="spikes"),
        n_values=16,
        bits=8,
    )
    assert ok.fits, ok.messages()


def test_kernel_memory_message_format() -> None:
    usage = ConstraintUsage("kernel_memory", 71 * KI, 64 * KI, "layer 2", note="on every free core")
    assert usage.message() == "kernel memory on layer 2: 71Ki > 64Ki on every free core"
    assert abs(usage.margin - (71 / 64 - 1)) < 1e-12


# What sinabs refuses (synsense/sinabs@904eb89; see spikefit_search/hardware/chips/speck.py)


def _names(result: object) -> set[str]:
    return {u.name for u in result.violations}  # type: ignore[attr-defined]


def test_linear_over_a_non_square_map_is_a_non_square_kernel() -> None:
    # DynapcnnLayer: "The kernel of a `nn.Conv2d` must have the same height and width."
    wide = NetworkConfig(input_shape=(1, 8, 4), hidden=(16,), beta=1.0, readout="spikes")
    result = static_check("speck", wide, n_values=16, bits=8)
    assert _names(result) == {"kernel_shape"}
    (bad,) = result.violations
    assert bad.where == "layer 0"
    assert bad.message() == (
        "kernel shape on layer 0: Linear over a 8x4 kernel; sinabs' DynapcnnLayer needs a "
        "square one"
    )
    # a conv front end on the same map leaves square kernels: conv 3x3, then a Linear over
    # the pooled 4x2 map is again non-square; pooling to 2x1 too; a square input is fine
    conv = _conv(input_shape=(1, 8, 4), channels=(4,), padding=1, pool=2, hidden=(8,))
    assert [s.kernel for s in conv.layer_specs()] == [
        (3, 3),
        (4, 2),
        (1, 1),
    ]
    assert "kernel_shape" in _names(static_check("speck", conv, n_values=16, bits=8))
    square = _conv(input_shape=(1, 8, 8), channels=(4,), padding=1, pool=2, hidden=(8,))
    assert static_check("speck", square, n_values=16, bits=8).fits


def test_weight_layer_needs_a_following_spiking_layer() -> None:
    # sinabs_edges_handler: "Weight layers have to be followed by a spiking layer"; an IF
    # network with a membrane readout (beta = 1) still ends in a non-spiking weight layer
    membrane = NetworkConfig(input_shape=(1, 8, 8), hidden=(16,), beta=1.0, readout="membrane")
    result = static_check("speck", membrane, n_values=16, bits=8)
    assert _names(result) == {"spiking_layer"}
    (bad,) = result.violations
    assert bad.where == "layer 1"  # the readout, not the hidden layer
    assert result.margins()["spiking_layer"] == 1.0
    spikes = NetworkConfig(input_shape=(1, 8, 8), hidden=(16,), beta=1.0, readout="spikes")
    assert static_check("speck", spikes, n_values=16, bits=8).fits


def test_the_search_builds_a_spiking_readout_on_speck() -> None:
    from spikefit_search.search.space import load_search_space

    space = load_search_space("mlp").narrow(load_profile("speck"))
    assert space.network["readout"] == "spikes" and space.network["beta"] == 1.0


def test_max_pooling_is_refused_sum_and_avg_are_not() -> None:
    # connectivity_specs.SupportedNodeTypes has SumPool2d and AvgPool2d, not MaxPool2d
    for mode, fits in (("max", False), ("sum", True), ("avg", True)):
        net = _conv(input_shape=(1, 16, 16), channels=(4,), padding=1, pool=2, pool_mode=mode)
        result = static_check("speck", net, n_values=16, bits=8)
        assert result.fits == fits, (mode, result.messages())
        if not fits:
            assert _names(result) == {"pooling"}
            assert "sinabs refuses MaxPool" in result.messages()[0]
