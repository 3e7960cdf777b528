"""A trained network in NIR (the Neuromorphic Intermediate Representation), for sinabs, snnTorch,
Rockpool, Lava and other NIR readers.

Graph: ``input -> [conv{i} -> lif{i} -> pool{i}]* -> flatten -> [fc{j} -> lif{j}]* -> readout
-> output``. Synapses are ``Linear`` (``Affine`` when the network has biases) or ``Conv2d`` with
the *effective* float weights the network computes with (codebook values times scale, zero for
pruned synapses). Neurons are ``LIF`` (``IF`` when ``beta == 1``); the non-spiking membrane
readout is ``LI``.

NIR has no fields for quantization, so every quantized synapse node carries in ``metadata``:
``codebook`` (int, ``(groups, levels)``), ``codes`` (int, weight-shaped, -1 = pruned), ``scale``,
``bits``, ``n_values`` (``M``), ``scope`` and ``zero_is_free``, with
``weight == scale * codebook[group, codes]``.

Time is discrete with ``dt = 1`` step: ``v[t] = beta * v[t-1] + I[t]`` is NIR's
``tau dv/dt = (v_leak - v) + r I`` under forward Euler with ``tau = 1 / (1 - beta)``,
``r = tau`` and ``v_leak = 0``. Our reset subtracts the threshold; NIR's ``v_reset`` is a reset
to a value, so the graph metadata records ``reset`` for readers that support subtraction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import nir
import numpy as np

from spikefit_search import __version__
from spikefit_search._io import atomic_write_bytes
from spikefit_search.compression import integer_export
from spikefit_search.compression._base import BaseQuantizer
from spikefit_search.exceptions import ConfigError

if TYPE_CHECKING:
    from spikefit_search.compression import PipelineConfig
    from spikefit_search.snn import SpikingNetwork, SynapticLayer
    from spikefit_search.snn.config import LayerSpec

DT = 1.0


def _neuron_arrays(beta: float, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    tau = np.full(shape, DT / (1.0 - beta) if beta < 1.0 else np.inf, dtype=np.float32)
    r = tau.copy() if beta < 1.0 else np.ones(shape, dtype=np.float32)
    return tau, r


def _neurons(model: SpikingNetwork, shape: tuple[int, ...], *, spiking: bool) -> nir.NIRNode:
    cfg = model.config
    threshold = np.full(shape, cfg.threshold, dtype=np.float32)
    zeros = np.zeros(shape, dtype=np.float32)
    meta: dict[str, Any] = {"beta": float(cfg.beta), "reset": cfg.reset, "dt": DT}
    if not spiking:
        tau, r = _neuron_arrays(cfg.beta, shape)
        meta["readout"] = "mean membrane over the timesteps"
        return nir.LI(tau=tau, r=r, v_leak=zeros, metadata=meta)
    if cfg.beta == 1.0:
        return nir.IF(
            r=np.ones(shape, dtype=np.float32), v_threshold=threshold, v_reset=zeros, metadata=meta
        )
    tau, r = _neuron_arrays(cfg.beta, shape)
    return nir.LIF(tau=tau, r=r, v_leak=zeros, v_threshold=threshold, v_reset=zeros, metadata=meta)


def _quant_metadata(layer: SynapticLayer, pipeline: PipelineConfig | None) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if isinstance(layer.weight_transform, BaseQuantizer):
        iw = integer_export(layer)
        meta.update(
            codebook=iw.codebook.numpy().astype(np.int64),
            codes=iw.codes.numpy().astype(np.int64),
            scale=np.float32(iw.scale.item()),
            bits=int(iw.bits),
            scope=iw.scope,
            zero_is_free=bool(iw.zero_is_free),
        )
    if pipeline is not None:
        meta["quantization"] = pipeline.quantization
        meta["n_values"] = int(pipeline.n_values)
        if "bits" not in meta:
            meta["bits"] = int(pipeline.bits)
    if layer.mask is not None:
        meta["pruned_synapses"] = int((layer.mask == 0).sum().item())
    return meta


def _synapse(layer: SynapticLayer, spec: LayerSpec, meta: dict[str, Any]) -> nir.NIRNode:
    w = layer.effective_weight().detach().cpu().numpy().astype(np.float32)
    bias = layer.synapse.bias
    b = (
        bias.detach().cpu().numpy().astype(np.float32)
        if bias is not None
        else np.zeros(w.shape[0], dtype=np.float32)
    )
    if spec.kind == "conv":
        return nir.Conv2d(
            input_shape=tuple(spec.in_size),
            weight=w,
            stride=spec.stride,
            padding=spec.padding,
            dilation=1,
            groups=1,
            bias=b,
            metadata=meta,
        )
    if bias is not None:
        return nir.Affine(weight=w, bias=b, metadata=meta)
    return nir.Linear(weight=w, metadata=meta)


def to_nir(
    model: SpikingNetwork,
    pipeline: PipelineConfig | None = None,
    *,
    source: dict[str, Any] | None = None,
) -> nir.NIRGraph:
    """The network as a NIR graph (see the module docstring for the mapping).

    Raises:
        ConfigError: the network uses max pooling, which NIR cannot express.
    """
    cfg = model.config
    c, h, w = cfg.reduced_input_shape  # what the chip receives, after any input reduction
    nodes: dict[str, nir.NIRNode] = {}
    edges: list[tuple[str, str]] = []
    prev = "input"
    if cfg.kind == "conv":
        nodes["input"] = nir.Input(input_type={"input": np.array([c, h, w])})
    else:
        nodes["input"] = nir.Input(input_type={"input": np.array([c * h * w])})

    def add(name: str, node: nir.NIRNode) -> None:
        nonlocal prev
        nodes[name] = node
        edges.append((prev, name))
        prev = name

    flattened = cfg.kind != "conv"
    conv_i = fc_i = 0
    for layer in model.synaptic_layers:
        spec = layer.spec
        meta = _quant_metadata(layer, pipeline)
        if spec.kind == "conv":
            oh, ow = spec.out_size
            add(f"conv{conv_i}", _synapse(layer, spec, meta))
            add(f"lif_conv{conv_i}", _neurons(model, (spec.out_channels, oh, ow), spiking=True))
            if spec.pool > 1:
                if cfg.pool_mode == "max":
                    raise ConfigError(
                        "NIR export needs sum or avg pooling, but the network uses max pooling."
                    )
                pool_cls = nir.SumPool2d if cfg.pool_mode == "sum" else nir.AvgPool2d
                k = np.array([spec.pool, spec.pool])
                add(
                    f"pool{conv_i}",
                    pool_cls(kernel_size=k, stride=k, padding=np.array([0, 0])),
                )
            conv_i += 1
            continue
        if not flattened:
            in_h, in_w = spec.in_size
            add(
                "flatten",
                nir.Flatten(
                    input_type={"input": np.array([spec.in_channels, in_h, in_w])},
                    start_dim=0,
                    end_dim=-1,
                ),
            )
            flattened = True
        is_last = layer is model.synaptic_layers[-1]
        name = "readout_synapse" if is_last else f"fc{fc_i}"
        add(name, _synapse(layer, spec, meta))
        neuron_name = "readout" if is_last else f"lif_fc{fc_i}"
        add(neuron_name, _neurons(model, (spec.out_channels,), spiking=spec.spiking))
        fc_i += 1
    nodes["output"] = nir.Output(output_type={"output": np.array([cfg.n_classes])})
    edges.append((prev, "output"))
    graph_meta: dict[str, Any] = {
        "producer": f"spikefit-search {__version__}",
        "timesteps": int(cfg.timesteps),
        "encoder": cfg.encoder,
        "readout": cfg.readout,
        "reset": cfg.reset,
        "beta": float(cfg.beta),
        "threshold": float(cfg.threshold),
        "dt": DT,
    }
    if pipeline is not None:
        graph_meta.update(
            n_values=int(pipeline.n_values),
            bits=int(pipeline.bits),
            scope=pipeline.scope,
            rho=float(pipeline.rho),
            quantization=pipeline.quantization,
        )
    for key in ("study", "trial", "device_sha256"):
        if source and source.get(key) is not None:
            graph_meta[f"source_{key}"] = source[key]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_meta, type_check=False)


def write_nir(
    path: str | Path,
    model: SpikingNetwork,
    pipeline: PipelineConfig | None = None,
    *,
    source: dict[str, Any] | None = None,
) -> Path:
    """Write :func:`to_nir` to ``path`` (HDF5, atomically)."""
    import io

    graph = to_nir(model, pipeline, source=source)
    buffer = io.BytesIO()
    nir.write(buffer, graph)
    return atomic_write_bytes(path, buffer.getvalue())
