"""Our Xylo cycle counts against Rockpool's own cycles model (Rockpool 3.1.0, in its own venv).

A few small networks (one and two hidden layers on Xylo Audio 2, two on Xylo IMU, with pruned
synapses, a hidden neuron without input weights and one without readout weights) see the same
event rasters (up to 3 events in a bin) in our simulator and, as Xylo weight matrices and
rasters, in ``rockpool.devices.xylo.<chip>.power_cycles_model``: the cycles per step and the
real-time clock must agree. ``SPIKEFIT_ROCKPOOL`` names Rockpool's venv
(``.ci/install-rockpool.sh`` makes it); without it the comparison skips.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from verifier_venvs import verifier_venv

from spikefit_search.hardware import load_profile, measured_check
from spikefit_search.hardware.chips.xylo.cycles import inference_cycles, shape_from_activity
from spikefit_search.snn import NetworkConfig, SpikingNetwork
from spikefit_search.training.loop import evaluate

SCRIPT = Path(__file__).parent / "rockpool" / "run_cycles.py"
STEPS, SAMPLES = 6, 5
CHIPS = {"xylo-audio2": "syns61201", "xylo-imu": "syns63300"}
NETWORKS = {  # name: (profile, hidden widths, outputs)
    "a2_one": ("xylo-audio2", (20,), 4),
    "a2_two": ("xylo-audio2", (12, 8), 4),
    "imu_two": ("xylo-imu", (10, 6), 5),
}


def _network(hidden: tuple[int, ...], outputs: int, seed: int) -> SpikingNetwork:
    torch.manual_seed(seed)
    config = NetworkConfig(
        input_shape=(16, 1, 1),
        hidden=hidden,
        n_classes=outputs,
        beta=1.0,
        threshold=0.3,
        timesteps=STEPS,
        encoder="events",
    )
    net = SpikingNetwork(config)
    with torch.no_grad():
        for layer in net.synaptic_layers:
            w = layer.synapse.weight
            w.mul_((torch.rand_like(w) > 0.4).float())  # pruned synapses are exact zeros
        net.synaptic_layers[0].synapse.weight[0].zero_()  # a hidden neuron without input
        net.synaptic_layers[-1].synapse.weight[:, -1].zero_()  # one without readout
    return net


def _xylo_matrices(net: SpikingNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Our layers as Xylo's input (Nin x Nhid), recurrent (Nhid x Nhid) and readout
    (Nhid x Nout) weights: hidden layers side by side in one hidden population."""
    weights = [layer.effective_weight().detach().numpy() for layer in net.synaptic_layers]
    widths = [w.shape[0] for w in weights[:-1]]
    starts = np.cumsum([0, *widths])
    n_hid = int(starts[-1])
    w_in = np.zeros((weights[0].shape[1], n_hid))
    w_in[:, : widths[0]] = weights[0].T
    w_rec = np.zeros((n_hid, n_hid))
    for i, w in enumerate(weights[1:-1]):
        w_rec[starts[i] : starts[i + 1], starts[i + 1] : starts[i + 2]] = w.T
    w_out = np.zeros((n_hid, weights[-1].shape[0]))
    w_out[starts[-2] :, :] = weights[-1].T
    return w_in, w_rec, w_out


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    gen = torch.Generator().manual_seed(0)
    for k, (name, (profile, hidden, outputs)) in enumerate(NETWORKS.items()):
        net = _network(hidden, outputs, seed=k)
        x = torch.randint(0, 4, (SAMPLES, STEPS, 16, 1, 1), generator=gen).float()
        x *= (torch.rand(x.shape, generator=gen) > 0.5).float()  # empty bins as well
        y = torch.zeros(SAMPLES, dtype=torch.long)
        activity = evaluate(net, x, y).activity
        run = net.run(x)
        raster_in = x.permute(1, 0, 2, 3, 4).reshape(STEPS * SAMPLES, 16).numpy()
        hid = [s.detach().reshape(STEPS * SAMPLES, -1) for s in run.spikes[: len(hidden)]]
        w_in, w_rec, w_out = _xylo_matrices(net)
        out[name] = {
            "profile": profile,
            "net": net,
            "activity": activity,
            "arrays": {
                f"{name}_w_in": w_in,
                f"{name}_w_rec": w_rec,
                f"{name}_w_out": w_out,
                f"{name}_in": raster_in,
                f"{name}_hid": torch.cat(hid, dim=1).numpy(),
                f"{name}_chip": np.array(CHIPS[profile]),
            },
        }
    return out


def test_the_cases_exercise_the_model(cases: dict[str, dict[str, object]]) -> None:
    """Several events share bins, hidden neurons spike, and IMU loops over fewer neurons."""
    for name, case in cases.items():
        arrays = case["arrays"]
        assert isinstance(arrays, dict)
        raster, hidden = arrays[f"{name}_in"], arrays[f"{name}_hid"]
        assert raster.max() > 1 and 0 < np.count_nonzero(hidden) < hidden.size
    imu = cases["imu_two"]["activity"]
    shape = shape_from_activity(imu, "connected")  # type: ignore[arg-type]
    assert shape.n_ien < 10 and shape.n_oen < 6  # a dead input row and a dead readout row


def _rockpool() -> Path:
    venv = verifier_venv(
        "SPIKEFIT_ROCKPOOL",
        fail="CI must compare with Rockpool's cycles model: run .ci/install-rockpool.sh",
        skip="SPIKEFIT_ROCKPOOL is not set (Rockpool's venv; .ci/install-rockpool.sh)",
    )
    return venv / "bin" / "python"


def test_cycles_and_clock_equal_rockpools(
    cases: dict[str, dict[str, object]], tmp_path: Path
) -> None:
    python = _rockpool()
    arrays: dict[str, np.ndarray] = {}
    for case in cases.values():
        arrays.update(case["arrays"])  # type: ignore[arg-type]
    npz = tmp_path / "cases.npz"
    np.savez(npz, **arrays)
    dt_ms = 1.0
    done = subprocess.run(
        [str(python), str(SCRIPT), str(npz), str(dt_ms * 1e-3)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    for name, case in cases.items():
        profile = load_profile(str(case["profile"]))
        projections = str(profile.energy.projections.value)  # type: ignore[union-attr]
        activity = case["activity"]
        ours = inference_cycles(activity, projections) / STEPS  # type: ignore[arg-type]
        cycles, clock_hz = theirs[name]
        assert ours == pytest.approx(cycles, rel=1e-9), name
        shape = shape_from_activity(activity, projections)  # type: ignore[arg-type]
        assert shape.required_clock_mhz(dt_ms, 0.2) * 1e6 == pytest.approx(clock_hz, rel=1e-9)
        # the measured check's clock constraint is the same figure
        usage = measured_check(profile, case["net"]).worst("clock")  # type: ignore[arg-type]
        assert usage is not None and usage.usage * 1e6 == pytest.approx(clock_hz, rel=1e-9)
