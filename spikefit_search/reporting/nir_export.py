"""A trained network in NIR (the Neuromorphic Intermediate Representation), for sinabs, snnTorch,
norse and other NIR readers. ``docs/reporting.md`` explains every choice and what each reader
needs; :func:`reader_support` says which readers run a given network as we do.

Graph (node names sort in graph order, which nirtorch-based readers rely on)::

    input -> [lNNa_conv -> lNNb_if|lif -> lNNc_pool]* -> lNNa_flatten
          -> [lNNb_fc -> lNNc_if|lif (<-> lNNd_rec)]* -> lNNb_fc -> lNNc_if|lif|li -> output

* A recurrent hidden layer's recurrent weight is an ``Affine`` node ``lNNd_rec`` (zero bias)
  on a cycle with its neurons, ``lNNc_lif -> lNNd_rec -> lNNc_lif``: how NIR writes recurrence
  and how snnTorch's ``import_from_nir`` finds it (a LIF and an Affine that only connect to
  each other become one ``RLeaky``). The neurons' spikes of step ``t - 1`` reach them at step
  ``t``; the node's metadata says so (``recurrent``).

* Synapses are ``Affine`` (a zero bias when the network has none: sinabs imports no ``Linear``)
  or ``Conv2d``, with the *effective* float weights the network computes with (codebook value
  times scale, zero for pruned synapses).
* Time is discrete, ``dt = 1`` step. ``IF`` (``beta == 1``) has ``r = 1``: each step adds the
  input. ``LIF`` and the membrane readout ``LI`` have ``tau = -dt / ln(beta)`` (the exact decay
  ``exp(-dt/tau) = beta``), ``r = tau / dt`` (an input ``x`` moves the membrane by ``x``) and
  ``v_leak = 0``: ``v[t] = beta * v[t-1] + x[t]``.
* Reset subtracts the threshold and a neuron fires at most once per step when
  ``v >= v_threshold``. ``v_reset`` is left out: nir 1.0.4 defines IF and LIF with the
  subtract reset and rejects the field; nir >= 1.0.5 reads it as 0 (reset to zero), so the
  graph metadata says ``reset: subtract`` and :func:`reader_support` flags readers that reset to
  a value.
* The prediction is the arg-max over classes of the output summed over the timesteps (spike
  counts, or the LI membrane: our mean membrane times ``T``).

The file is HDF5 in the layout nir 1.0.4 and every later nir read (the fields of 1.0.4 only,
``metadata`` only where 1.0.4 has it). Our extra information is in ``metadata``, which readers
keep and ignore. The graph's ``metadata["synapses"][name]`` holds, for every synapse node (1.0.4
has no ``metadata`` on ``Conv2d``): ``codebook`` (int, ``(groups, levels)``), ``codes`` (int,
weight-shaped, -1 = pruned), ``scale``, ``bits``, ``n_values`` (``M``), ``scope`` and
``zero_is_free``, with ``weight == scale * codebook[group, codes]``. Neuron nodes have ``beta``,
``reset``, ``threshold``, ``spike`` and ``dt``; the graph has the producer version, timesteps,
encoder, readout and the search source.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nir
import numpy as np

from spikefit_search import __version__
from spikefit_search._io import atomic_write_bytes
from spikefit_search._modes import eval_mode
from spikefit_search.compression import integer_export
from spikefit_search.compression._base import BaseQuantizer
from spikefit_search.exceptions import ConfigError, RunError

if TYPE_CHECKING:
    from spikefit_search.compression import PipelineConfig
    from spikefit_search.snn import NetworkConfig, SpikingNetwork, SynapticLayer
    from spikefit_search.snn.config import LayerSpec

DT = 1.0
FORMAT_VERSION = "1.0.4"
"""The nir release whose file layout we write (every later release reads it)."""

READERS = ("sinabs", "snntorch", "norse")


def time_constant(beta: float) -> float:
    """``tau`` (in steps of ``dt``) whose exact decay over one step is ``beta``."""
    return math.inf if beta >= 1.0 else -DT / math.log(beta)


def nir_threshold(threshold: float) -> np.float32:
    """The float32 ``v_threshold`` for our ``v >= threshold``: NIR fires when
    ``v > v_threshold``, so this is the largest float32 below ``threshold``."""
    return np.nextafter(np.float32(threshold), np.float32(0.0))


def _neurons(cfg: NetworkConfig, shape: tuple[int, ...], *, spiking: bool) -> nir.NIRNode:
    threshold = np.full(shape, nir_threshold(cfg.threshold), dtype=np.float32)
    zeros = np.zeros(shape, dtype=np.float32)
    meta: dict[str, Any] = {"beta": float(cfg.beta), "dt": DT}
    tau = np.full(shape, time_constant(cfg.beta), dtype=np.float32)
    if not spiking:
        meta["readout"] = "membrane: the class with the largest membrane summed over the steps"
        # beta == 1: tau = r = inf, the no-leak limit (sinabs: alpha = exp(-dt/tau) = 1)
        return nir.LI(tau=tau, r=tau / np.float32(DT), v_leak=zeros, metadata=meta)
    meta.update(
        reset=cfg.reset,
        threshold=float(cfg.threshold),
        spike="single: at most one spike per step, when v >= threshold",
    )
    if cfg.beta == 1.0:
        return nir.IF(r=np.ones(shape, dtype=np.float32), v_threshold=threshold, metadata=meta)
    return nir.LIF(
        tau=tau, r=tau / np.float32(DT), v_leak=zeros, v_threshold=threshold, metadata=meta
    )


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


def _chip_metadata(model: SpikingNetwork, synapses: dict[str, Any]) -> dict[str, Any]:
    """The chip-exact network's integers: per synapse node the stored weights, shifts,
    integer threshold and decays (added to ``synapses``); the chip neuron for the graph."""
    from spikefit_search.snn.chip import flush_steps, layer_integers

    chip = model.config.chip
    assert chip is not None
    layers: list[tuple[str, Any]] = []
    names = [n for n in synapses if not n.endswith("_rec")]
    for name, ints in zip(names, layer_integers(model)):
        layers.append((name, ints))
        if ints.recurrent is not None:
            layers.append((f"{name[:3]}d_rec", ints.recurrent))
    for name, ints in layers:
        meta = synapses[name]
        meta.update(
            integer_weight=ints.stored_weights.numpy().astype(np.int64),
            stored_shift=int(ints.stored_shift),
            weight_shift=int(ints.weight_shift),
            integer_unit=np.float64(ints.unit),
        )
        if not name.endswith("_rec"):  # a recurrent weight feeds its layer's neurons
            meta["integer_threshold"] = int(ints.threshold)
        if ints.dash_mem is not None:
            meta["dash_mem"] = int(ints.dash_mem)
        if ints.dash_syn is not None:
            meta["dash_syn"] = int(ints.dash_syn)
    neuron = {k: v for k, v in chip.to_dict().items() if v is not None}
    return {
        "chip_exact": True,
        "chip_neuron": neuron,
        "flush_steps": flush_steps(model),
        "spike": "multi",
    }


def _synapse(layer: SynapticLayer, spec: LayerSpec) -> nir.NIRNode:
    w = layer.effective_weight().detach().cpu().numpy().astype(np.float32)
    bias = layer.synapse.bias
    b = (
        bias.detach().cpu().numpy().astype(np.float32)
        if bias is not None
        else np.zeros(w.shape[0], dtype=np.float32)
    )
    if spec.kind == "conv":
        return nir.Conv2d(
            input_shape=np.array(spec.in_size),
            weight=w,
            stride=np.array([spec.stride, spec.stride]),
            padding=np.array([spec.padding, spec.padding]),
            dilation=np.array([1, 1]),
            groups=1,
            bias=b,
        )
    return nir.Affine(weight=w, bias=b)


def to_nir(
    model: SpikingNetwork,
    pipeline: PipelineConfig | None = None,
    *,
    source: dict[str, Any] | None = None,
) -> nir.NIRGraph:
    """The network as a NIR graph (see the module docstring for the mapping), with the
    weights it evaluates with (evaluation mode, whatever mode ``model`` is in).

    Raises:
        ConfigError: the network uses max pooling, which NIR cannot express.
    """
    with eval_mode(model):
        return _to_nir(model, pipeline, source=source)


def _to_nir(
    model: SpikingNetwork, pipeline: PipelineConfig | None, *, source: dict[str, Any] | None
) -> nir.NIRGraph:
    cfg = model.config
    c, h, w = cfg.reduced_input_shape  # what the chip receives, after any input reduction
    if cfg.kind == "conv" and cfg.pool > 1 and cfg.pool_mode == "max":
        raise ConfigError("NIR export needs sum or avg pooling, but the network uses max pooling.")
    nodes: dict[str, nir.NIRNode] = {}
    edges: list[tuple[str, str]] = []
    prev = "input"
    shape = np.array([c, h, w]) if cfg.kind == "conv" else np.array([c * h * w])
    nodes["input"] = nir.Input(input_type={"input": shape})

    def add(name: str, node: nir.NIRNode) -> None:
        nonlocal prev
        nodes[name] = node
        edges.append((prev, name))
        prev = name

    flattened = cfg.kind != "conv"
    synapses: dict[str, Any] = {}
    for k, layer in enumerate(model.synaptic_layers, start=1):
        spec = layer.spec
        name = f"l{k:02d}a_conv" if spec.kind == "conv" else f"l{k:02d}b_fc"
        synapses[name] = _quant_metadata(layer, pipeline)
        if spec.kind == "conv":
            oh, ow = spec.out_size
            add(name, _synapse(layer, spec))
            add(
                f"l{k:02d}b_{cfg.neuron_model.lower()}",
                _neurons(cfg, (spec.out_channels, oh, ow), spiking=True),
            )
            if spec.pool > 1:
                pool_cls = nir.SumPool2d if cfg.pool_mode == "sum" else nir.AvgPool2d
                p = np.array([spec.pool, spec.pool])
                add(f"l{k:02d}c_pool", pool_cls(kernel_size=p, stride=p, padding=np.array([0, 0])))
            continue
        if not flattened:
            in_h, in_w = spec.in_size
            add(
                f"l{k:02d}a_flatten",
                nir.Flatten(
                    input_type={"input": np.array([spec.in_channels, in_h, in_w])},
                    start_dim=0,
                    end_dim=-1,
                ),
            )
            flattened = True
        add(name, _synapse(layer, spec))
        neuron = "li" if not spec.spiking else cfg.neuron_model.lower()
        add(f"l{k:02d}c_{neuron}", _neurons(cfg, (spec.out_channels,), spiking=spec.spiking))
        if layer.recurrent is not None:  # the cycle lNNc -> lNNd_rec -> lNNc
            rec = f"l{k:02d}d_rec"
            nodes[rec] = _synapse(layer.recurrent, layer.recurrent.spec)
            edges += [(prev, rec), (rec, prev)]
            synapses[rec] = {
                **_quant_metadata(layer.recurrent, pipeline),
                "recurrent": f"{prev}'s spikes of step t-1 reach {prev} at step t",
            }
    nodes["output"] = nir.Output(output_type={"output": np.array([cfg.n_classes])})
    edges.append((prev, "output"))
    graph_meta: dict[str, Any] = {
        "producer": f"spikefit-search {__version__}",
        "nir_format": FORMAT_VERSION,
        "timesteps": int(cfg.timesteps),
        "encoder": cfg.encoder,
        "readout": cfg.readout,
        "prediction": "argmax over classes of the output summed over the timesteps",
        "reset": cfg.reset,
        "spike": "single",
        "beta": float(cfg.beta),
        "threshold": float(cfg.threshold),
        "dt": DT,
    }
    if cfg.recurrent:
        graph_meta["recurrent"] = "hidden layers hear their own spikes of the step before"
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
    if source is not None:
        retrained = bool(source.get("retrained"))
        graph_meta["weights"] = "retrained model" if retrained else "search checkpoint"
    graph_meta["input_pool"] = int(cfg.input_pool)  # the inputs are sums of pool x pool pixels
    graph_meta["input_group"] = int(cfg.input_group)  # and of groups of adjacent channels
    if model.chip_exact and cfg.chip is not None:
        graph_meta.update(_chip_metadata(model, synapses))
    graph_meta["synapses"] = {name: meta for name, meta in synapses.items() if meta}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph_meta)


# --- the file ----------------------------------------------------------------------------------

_NO_METADATA = ("Input", "Output", "Linear")
"""Node types that have no ``metadata`` field in nir 1.0.4."""
_NEW_FIELDS = {"IF": ("v_reset",), "LIF": ("v_reset",)}
"""Fields nir 1.0.4 rejects (added in 1.0.5; a missing one reads as its default)."""


def _portable(node: dict[str, Any]) -> dict[str, Any]:
    """A node dict with only the fields nir 1.0.4 reads, nested graphs included."""
    kind = node["type"]
    out = {k: v for k, v in node.items() if k not in _NEW_FIELDS.get(kind, ())}
    if kind in _NO_METADATA or not out.get("metadata"):
        out.pop("metadata", None)
    if kind == "NIRGraph":
        out["nodes"] = {name: _portable(n) for name, n in node["nodes"].items()}
    return out


def _write_group(group: Any, data: dict[str, Any]) -> None:
    import h5py

    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict):
            _write_group(group.create_group(str(key)), value)
        elif isinstance(value, str):
            group.create_dataset(key, data=value, dtype=h5py.string_dtype())
        elif key == "edges":
            group.create_dataset(key, data=np.array(value, dtype=h5py.string_dtype()))
        else:
            group.create_dataset(key, data=np.asarray(value))


def nir_bytes(graph: nir.NIRGraph) -> bytes:
    """``graph`` as the HDF5 bytes of a NIR file every nir release from 1.0.4 on reads."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_dataset("version", data=FORMAT_VERSION)
        _write_group(f.create_group("node"), _portable(graph.to_dict()))
    return buffer.getvalue()


def write_nir(
    path: str | Path,
    model: SpikingNetwork,
    pipeline: PipelineConfig | None = None,
    *,
    source: dict[str, Any] | None = None,
) -> Path:
    """Write :func:`to_nir` to ``path`` (HDF5, atomically: the file is whole or absent).

    Raises:
        ConfigError: the network cannot be expressed in NIR (max pooling).
        RunError: ``path`` cannot be written.
    """
    data = nir_bytes(to_nir(model, pipeline, source=source))
    try:
        return atomic_write_bytes(path, data)
    except OSError as exc:
        raise RunError(
            f"--nir must be a writable file, but {path} is not ({exc.strerror})."
        ) from None


# --- who runs it as we do ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReaderSupport:
    """Whether one NIR reader runs a network exactly as spikefit-search does.

    Attributes:
        reader: ``sinabs``, ``snntorch`` or ``norse``.
        reason: why it cannot (one line), or None when it can.
        options: what the user must set for it to (reader options; empty when none).
    """

    reader: str
    reason: str | None
    options: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.reason is None


RECURRENT_READERS = {
    "sinabs": "sinabs' from_nir runs each layer over all steps at once, so a recurrent edge "
    "cannot carry the spikes of the step before",
    "snntorch": "snnTorch's import_from_nir makes a recurrent LIF an RLeaky with a zero reset "
    "and a fixed dt of 1e-4 s, and leaves a recurrent IF without its recurrent edge",
}
"""Readers that cannot run a recurrent network as we do, and why (read in their import code;
norse's from_nir runs the cycle, with its own limits as for a feed-forward network)."""


def reader_support(cfg: NetworkConfig) -> list[ReaderSupport]:
    """For sinabs 3.1, snnTorch 1.0 and norse 1.1: can it run ``cfg`` as we do, and with which
    options (the evidence is in ``tests/reporting_tests/test_nir_readers.py``)."""
    if cfg.recurrent:  # norse runs the cycle as we do; the others cannot
        plain = reader_support(replace(cfg, recurrent=False))
        return [
            ReaderSupport(s.reader, RECURRENT_READERS[s.reader])
            if s.reader in RECURRENT_READERS
            else s
            for s in plain
        ]
    pooled = cfg.kind == "conv" and cfg.pool > 1
    leaky = cfg.beta < 1.0
    membrane = cfg.readout == "membrane"
    out: list[ReaderSupport] = []
    # sinabs: IAF/LIF with MembraneSubtract; MultiSpike by default; IAF clamps at -threshold.
    why = None
    if cfg.reset != "subtract":
        why = "sinabs' from_nir always subtracts the threshold on a spike (no zero reset)"
    elif pooled and cfg.pool_mode != "sum":
        why = "sinabs imports sum pooling only (no AvgPool2d)"
    opts = ["spike_fn=SingleSpike on IAF/LIF layers"]  # from_nir leaves MultiSpike
    if not leaky:
        opts.append("min_v_mem=None on IAF layers")  # from_nir clamps at -threshold
    if membrane:
        opts.append("LI r=1 before from_nir")  # sinabs refuses LI with r != 1
    opts.append("from_nir(batch_size=B)")
    out.append(ReaderSupport("sinabs", why, tuple(opts) if why is None else ()))
    # snnTorch: IF -> Leaky(beta=0.9, subtract); LIF -> Leaky(reset zero); no LI, no SumPool2d.
    why = None
    if membrane:
        why = "snnTorch's import_from_nir has no leaky-integrator (LI) readout"
    elif leaky:
        why = "snnTorch imports LIF with a zero reset and a fixed dt of 1e-4 s"
    elif cfg.reset != "subtract":
        why = "snnTorch imports IF with a subtract reset only"
    # import_from_nir makes IF nodes Leaky(beta=0.9, init_hidden=False, reset_delay=False)
    opts = ["beta=1, init_hidden=True, reset_delay=True on the Leaky of IF nodes"]
    if cfg.kind == "conv":
        opts.append("batch size 1")  # its Flatten(0, -1) flattens the batch too
    out.append(ReaderSupport("snntorch", why, tuple(opts) if why is None else ()))
    # norse: IAFCell/LIFBoxCell reset to v_reset; LI is dropped.
    why = None
    if membrane:
        why = "norse's from_nir drops the leaky-integrator (LI) readout"
    elif cfg.reset == "subtract":
        why = "norse resets IF and LIF neurons to v_reset (no subtract reset for them)"
    elif leaky:
        why = "norse ignores r on LIF and scales the input by dt/tau"
    opts = ["batch size 1"] if cfg.kind == "conv" else []
    out.append(ReaderSupport("norse", why, tuple(opts) if why is None else ()))
    return out


def require_reader(cfg: NetworkConfig, reader: str) -> ReaderSupport:
    """The support of ``reader`` for ``cfg``, or a one-line refusal.

    Raises:
        ConfigError: an unknown reader, or one that cannot run ``cfg`` as we do.
    """
    name = reader.lower()
    if name not in READERS:
        raise ConfigError(f"--nir-reader must be one of {', '.join(READERS)}, but got {reader!r}.")
    (support,) = [s for s in reader_support(cfg) if s.reader == name]
    if not support.ok:
        raise ConfigError(
            f"--nir-reader {name} must run the network as trained, but {support.reason}; "
            "no file was written."
        )
    return support
