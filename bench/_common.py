"""Shared pieces of the benchmark suite: the same spiking MLP in three frameworks,
alternating timers, environment capture and the ``docs/benchmarks.md`` writer.

Every network here is the same function:

* LIF hidden layers, ``beta = 0.9``, threshold 1, reset by subtraction, reset detached from the
  graph, fast-sigmoid surrogate with slope 25;
* a non-spiking leaky output layer whose mean membrane over ``T`` is the logit;
* no biases; input = pre-encoded rate spikes ``(T, B, n_in)`` so encoding costs nothing for all.

Peers:

* snnTorch: ``nn.Linear`` + ``snn.Leaky(beta=0.9, spike_grad=fast_sigmoid(slope=25))`` called
  once per step (the documented usage), output ``snn.Leaky(reset_mechanism="none")``.
* SpikingJelly: ``layer.Linear`` + ``neuron.LIFNode(step_mode="m")`` on the torch backend.
  SpikingJelly's LIF with ``decay_input=False`` charges ``H = V - V/tau + X``, i.e.
  ``H = (1 - 1/tau) V + X``: ``tau = 10`` gives exactly ``beta = 0.9``; ``v_reset=None`` is the
  subtract reset, ``detach_reset=True``. Its built-in surrogate with our shape is ``SoftSign``:
  ``alpha / (2 (1 + alpha |x|)^2)``, with ``alpha = 25`` the fast sigmoid of slope 25 times a
  constant 12.5 (same cost; a custom surrogate class would push SpikingJelly off its registered
  multi-step op onto its slower autograd reference). Output: ``NonSpikingLIFNode(tau=10,
  decode="mean-mem")`` (it scales the input by ``1/tau``: a constant factor on the logits).

Only ``torch`` and ``spikefit_search.snn`` are needed at import time; the peers are imported when
asked for, so ``bench/gpu_check.py`` runs where they are missing.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from spikefit_search.snn import NetworkConfig, SpikingNetwork  # noqa: E402
from spikefit_search.snn import network as _network  # noqa: E402

BENCH_MD = ROOT / "docs" / "benchmarks.md"
# The sections of docs/benchmarks.md, one per question; each script's --write adds to its own.
TRAINING = "## Training speed"
COMPRESSION = "## Compression: SpikeFit against its baselines"
SEARCH = "## Search"
ENERGY = "## Energy fronts"
NIR = "## NIR readers"

BETA = 0.9
THRESHOLD = 1.0
SLOPE = 25.0

NETWORKS: dict[str, tuple[int, ...]] = {
    "mlp784": (784, 256, 128, 10),
    "digits": (64, 128, 10),
    "rnn16": (16, 128, 8),
}
NAMES = {
    "mlp784": "784-256-128-10",
    "digits": "64-128-10 (digits)",
    "rnn16": "16-128-8 recurrent",
}
RECURRENT = ("rnn16",)
"""Networks whose hidden layer is recurrent (all-to-all ``W_rec``, the spikes of ``t - 1``)."""
FRAMEWORKS = ("ours", "snntorch", "spikingjelly")


# --------------------------------------------------------------------------------------------
# models


def _ours_identity_encode(
    name: str, x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    del name, steps, generator
    return x  # the bench feeds pre-encoded spikes (T, B, n_in)


class OursNet(nn.Module):
    """spikefit-search's :class:`SpikingNetwork`, run through its own ``run`` path."""

    recurrent = False

    def __init__(self, widths: tuple[int, ...], steps: int) -> None:
        super().__init__()
        n_in = widths[0]
        self.net = SpikingNetwork(
            NetworkConfig(
                kind="mlp",
                input_shape=(1, 1, n_in),
                n_classes=widths[-1],
                hidden=widths[1:-1],
                timesteps=steps,
                beta=BETA,
                threshold=THRESHOLD,
                reset="subtract",
                surrogate="fast_sigmoid",
                encoder="rate",
                readout="membrane",
                recurrent=self.recurrent,
            )
        )
        _network.encode = _ours_identity_encode  # type: ignore[assignment]

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        return self.net(spikes)


class SnnTorchNet(nn.Module):
    def __init__(self, widths: tuple[int, ...], steps: int) -> None:
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        grad = surrogate.fast_sigmoid(slope=SLOPE)
        self.fcs = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in itertools.pairwise(widths))
        self.lifs = nn.ModuleList(
            snn.Leaky(beta=BETA, threshold=THRESHOLD, spike_grad=grad, reset_mechanism="subtract")
            for _ in widths[1:-1]
        )
        self.out = snn.Leaky(beta=BETA, threshold=THRESHOLD, reset_mechanism="none")
        self.steps = steps

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        mems = [lif.reset_mem() for lif in self.lifs]
        mem_out = self.out.reset_mem()
        total = None
        for t in range(spikes.shape[0]):
            h = spikes[t]
            for i, (fc, lif) in enumerate(zip(self.fcs[:-1], self.lifs, strict=True)):
                h, mems[i] = lif(fc(h), mems[i])
            _, mem_out = self.out(self.fcs[-1](h), mem_out)
            total = mem_out if total is None else total + mem_out
        assert total is not None
        return total / spikes.shape[0]


class SpikingJellyNet(nn.Module):
    def __init__(self, widths: tuple[int, ...], steps: int) -> None:
        super().__init__()
        from spikingjelly.activation_based import layer, neuron, surrogate

        mods: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(widths)):
            mods.append(layer.Linear(a, b, bias=False, step_mode="m"))
            if i < len(widths) - 2:
                mods.append(
                    neuron.LIFNode(
                        tau=1.0 / (1.0 - BETA),
                        decay_input=False,
                        v_threshold=THRESHOLD,
                        v_reset=None,
                        surrogate_function=surrogate.SoftSign(alpha=SLOPE),
                        detach_reset=True,
                        step_mode="m",
                    )
                )
        mods.append(neuron.NonSpikingLIFNode(tau=1.0 / (1.0 - BETA), decode="mean-mem"))
        self.seq = nn.Sequential(*mods)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        from spikingjelly.activation_based import functional

        functional.reset_net(self.seq)
        out: torch.Tensor = self.seq(spikes)
        return out


class OursRNN(OursNet):
    """spikefit-search's recurrent :class:`SpikingNetwork` (``recurrent=True``)."""

    recurrent = True


class SnnTorchRNN(nn.Module):
    """``nn.Linear`` + ``snn.RLeaky(all_to_all=True)`` per hidden layer, called once per step
    (snnTorch's documented usage); RLeaky's recurrent ``nn.Linear`` carries a bias (its
    default), ours none."""

    def __init__(self, widths: tuple[int, ...], steps: int) -> None:
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        grad = surrogate.fast_sigmoid(slope=SLOPE)
        self.fcs = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in itertools.pairwise(widths))
        self.lifs = nn.ModuleList(
            snn.RLeaky(
                beta=BETA,
                threshold=THRESHOLD,
                spike_grad=grad,
                reset_mechanism="subtract",
                all_to_all=True,
                linear_features=n,
            )
            for n in widths[1:-1]
        )
        self.out = snn.Leaky(beta=BETA, threshold=THRESHOLD, reset_mechanism="none")

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        state = [lif.init_rleaky() for lif in self.lifs]
        mem_out = self.out.reset_mem()
        total = None
        for t in range(spikes.shape[0]):
            h = spikes[t]
            for i, (fc, lif) in enumerate(zip(self.fcs[:-1], self.lifs, strict=True)):
                spk, mem = lif(fc(h), *state[i])
                state[i] = (spk, mem)
                h = spk
            _, mem_out = self.out(self.fcs[-1](h), mem_out)
            total = mem_out if total is None else total + mem_out
        assert total is not None
        return total / spikes.shape[0]


class SpikingJellyRNN(SpikingJellyNet):
    """``layer.Linear`` + ``layer.LinearRecurrentContainer(neuron.LIFNode, n, n, bias=False)``
    per hidden layer, SpikingJelly's documented recurrent layer: the container feeds the LIF
    ``[x[t], s[t-1]] W^T`` with ``W = [I, W_rec]`` at the start (``W_in x[t] + W_rec s[t-1]``,
    the function of ours; the identity block then trains too), one ``2n -> n`` product a step;
    multi-step mode, output and ``forward`` as :class:`SpikingJellyNet`."""

    def __init__(self, widths: tuple[int, ...], steps: int) -> None:
        nn.Module.__init__(self)  # its own layers, not SpikingJellyNet's
        from spikingjelly.activation_based import layer, neuron, surrogate

        mods: list[nn.Module] = []
        for a, b in itertools.pairwise(widths[:-1]):
            mods.append(layer.Linear(a, b, bias=False, step_mode="m"))
            lif = neuron.LIFNode(
                tau=1.0 / (1.0 - BETA),
                decay_input=False,
                v_threshold=THRESHOLD,
                v_reset=None,
                surrogate_function=surrogate.SoftSign(alpha=SLOPE),
                detach_reset=True,
                step_mode="s",
            )
            rec = layer.LinearRecurrentContainer(lif, b, b, bias=False, step_mode="m")
            with torch.no_grad():
                rec.rc.weight[:, :b] = torch.eye(b)
            mods.append(rec)
        mods.append(layer.Linear(widths[-2], widths[-1], bias=False, step_mode="m"))
        mods.append(neuron.NonSpikingLIFNode(tau=1.0 / (1.0 - BETA), decode="mean-mem"))
        self.seq = nn.Sequential(*mods)


BUILDERS: dict[str, Callable[[tuple[int, ...], int], nn.Module]] = {
    "ours": OursNet,
    "snntorch": SnnTorchNet,
    "spikingjelly": SpikingJellyNet,
}
RNN_BUILDERS: dict[str, Callable[[tuple[int, ...], int], nn.Module]] = {
    "ours": OursRNN,
    "snntorch": SnnTorchRNN,
    "spikingjelly": SpikingJellyRNN,
}


def available_frameworks(wanted: Iterable[str] = FRAMEWORKS) -> list[str]:
    out = []
    for name in wanted:
        if name == "ours":
            out.append(name)
            continue
        try:
            __import__(name)
        except Exception as exc:  # peers are optional
            print(f"[skip] {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        out.append(name)
    return out


def build(framework: str, net: str, steps: int, device: torch.device, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    builders = RNN_BUILDERS if net in RECURRENT else BUILDERS
    return builders[framework](NETWORKS[net], steps).to(device)


def make_batch(
    net: str, steps: int, batch: int, device: torch.device, seed: int = 0, rate: float = 0.2
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pre-encoded rate spikes ``(T, B, n_in)`` (firing probability ``rate`` * a random image)
    and labels."""
    g = torch.Generator().manual_seed(seed)
    n_in, n_out = NETWORKS[net][0], NETWORKS[net][-1]
    image = torch.rand(batch, n_in, generator=g)
    spikes = (torch.rand(steps, batch, n_in, generator=g) < image * (2 * rate)).float()
    labels = torch.randint(0, n_out, (batch,), generator=g)
    return spikes.to(device), labels.to(device)


# --------------------------------------------------------------------------------------------
# timing


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step


def infer_step_fn(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        with torch.inference_mode():
            model(x)

    return step


@dataclass
class Timing:
    samples_per_s: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_per_s)

    @property
    def spread(self) -> float:
        """(max - min) / median of the repeats: how noisy the machine was."""
        vals = self.samples_per_s
        return (max(vals) - min(vals)) / self.median if vals else float("nan")


def alternate(
    steps: dict[str, Callable[[], None]],
    *,
    batch: int,
    device: torch.device,
    repeats: int,
    iters: int,
    warmup: int = 2,
) -> dict[str, Timing]:
    """Time every callable ``iters`` times per repeat, rotating the order every repeat so the
    frameworks share the machine's noise; samples/s per repeat."""
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    sync(device)
    names = list(steps)
    out = {name: Timing([]) for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            fn = steps[name]
            sync(device)
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            sync(device)
            dt = time.perf_counter() - t0
            out[name].samples_per_s.append(iters * batch / dt)
    return out


# --------------------------------------------------------------------------------------------
# environment and reporting


def setup(device_name: str, threads: int) -> torch.device:
    torch.set_num_threads(threads)
    if device_name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda needs a CUDA device, but none is available.")
    return torch.device(device_name)


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, nproc={os.cpu_count()}, torch threads={torch.get_num_threads()}"


def versions() -> str:
    parts = [f"python {platform.python_version()}", f"torch {torch.__version__}"]
    from importlib import metadata

    for mod in ("snntorch", "spikingjelly", "triton"):
        try:
            parts.append(f"{mod} {metadata.version(mod)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{mod} absent")
    return ", ".join(parts)


def load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def command_line() -> str:
    """The command that reproduces a figure (``--write`` only decides where it goes)."""
    args = [a for a in sys.argv[1:] if a != "--write"]
    return "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *args])


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def report(
    title: str,
    device: torch.device,
    body: str,
    notes: str = "",
    write: bool = False,
    section: str = TRAINING,
) -> str:
    """Print a result block; with ``write`` (a script's ``--write``) also append it at the end of
    ``section`` of docs/benchmarks.md."""
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    head = (
        f"### {title} ({'GPU' if device.type == 'cuda' else 'CPU'})\n\n"
        f"- date: {now}; machine: {machine(device)}; load average at start: {load_avg()}\n"
        f"- versions: {versions()}\n"
        f"- command: `{command_line()}`\n"
    )
    block = head + ("\n" + notes.strip() + "\n" if notes else "") + "\n" + body.strip() + "\n"
    print(block)
    if write:
        append_section(block, section)
    return block


def _same_measurement(body: str, block: str) -> str | None:
    """The ``### `` block of ``body`` with ``block``'s heading and command line, if any."""
    heading = block.split("\n", 1)[0]
    command = next((ln for ln in block.splitlines() if ln.startswith("- command: ")), None)
    parts = body.split("\n### ")
    for i, part in enumerate(parts):
        old = part if i == 0 else "### " + part
        if old.startswith(heading + "\n") and (command is None or command in old.splitlines()):
            return old.rstrip("\n")
    return None


def append_section(block: str, section: str = TRAINING, path: Path | None = None) -> None:
    """Append ``block`` at the end of ``section`` (a ``## `` heading line, created at the end of
    the file if missing) of ``path`` (docs/benchmarks.md), leaving the rest of the file as it
    is; a block of the section with the same heading and command is replaced instead (the page
    keeps the current figure of each measurement)."""
    path = BENCH_MD if path is None else path
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    line = f"\n{section}\n"
    if line not in text:
        text = text.rstrip("\n") + "\n" + line
    start = text.index(line) + len(line)
    nxt = text.find("\n## ", start - 1)
    end = len(text) if nxt < 0 else nxt + 1
    body = text[start:end].rstrip("\n")
    old = _same_measurement(body, block)
    if old is not None:  # the same heading and command measured again: the new figure replaces it
        body = body.replace(old, block.rstrip("\n"))
    else:
        body = (body + "\n\n" if body.strip() else "\n") + block.rstrip("\n")
    body += "\n"
    text = text[:start] + body + ("\n" + text[end:] if end < len(text) else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def replace_section(block: str, path: Path | None = None) -> None:
    """Put ``block``, which starts with its own ``## `` heading line, in place of that section
    of ``path`` (docs/benchmarks.md), or at the end of the file if the section is missing."""
    path = BENCH_MD if path is None else path
    text = path.read_text()
    heading = block.split("\n", 1)[0]
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + block + ("" if end < 0 else text[end:])
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text)


def run_child(args: list[str], timeout: float = 600) -> dict[str, object]:
    """Run ``python <args>`` in a fresh process; its last stdout line is a JSON object."""
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
