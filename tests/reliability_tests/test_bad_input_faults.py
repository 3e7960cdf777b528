"""Damaged profiles, spaces, data files and run folders, extreme numbers and unusable options:
each is one `error:` line, a non-zero exit, no traceback, and nothing created."""

from __future__ import annotations

import gzip
import json
import re
import struct
from pathlib import Path
from textwrap import indent

import numpy as np
import pytest
from reliability_cli import run_cli

PROFILES = Path(__file__).resolve().parents[2] / "hardware_profiles"

# An alias bomb: 7 levels of 9 references expand to 9**7 strings from a few hundred bytes.
BOMB = 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]\n' + "".join(
    f"{b}: &{b} [" + ", ".join([f"*{a}"] * 9) + "]\n" for a, b in zip("abcdef", "bcdefg")
)

# (id, arguments, text the one-line message must contain); {tmp} is the test's folder.
CASES = [
    # hardware profiles
    ("profile-nan-energy", ["--device", "{tmp}/nan.yaml"], "e_sop_pj.value must be a finite"),
    ("profile-inf-dt", ["--device", "{tmp}/inf.yaml"], "dt_ms.value must be a finite number"),
    ("profile-nan-check", ["check", "{tmp}/net.yaml", "--device", "{tmp}/nan.yaml"], "finite"),
    ("profile-latin1", ["--device", "{tmp}/latin1.yaml"], "must be UTF-8 text, but byte 0xb5"),
    ("profile-nul-name", ["devices", "{tmp}/nul.yaml"], "must not contain a NUL"),
    ("profile-model-list", ["--device", "{tmp}/modellist.yaml"], "mapping.model must be one of"),
    ("profile-alias-bomb", ["devices", "{tmp}/bomb.yaml"], "aliases expand to more"),
    ("profile-duplicate-key", ["--device", "{tmp}/dup.yaml"], "'limits' appears twice"),
    # search spaces
    ("space-step-zero", ["--space", "{tmp}/step0.yaml"], "step must be a positive int"),
    ("space-step-word", ["--space", "{tmp}/stepword.yaml"], "step must be a positive float"),
    ("space-timesteps-word", ["--space", "{tmp}/tword.yaml"], "key network must hold valid"),
    ("space-inf-bound", ["--space", "{tmp}/infbound.yaml"], "params.width.high must be a finite"),
    ("space-latin1", ["--space", "{tmp}/space-latin1.yaml"], "must be UTF-8 text"),
    ("space-alias-bomb", ["--space", "{tmp}/space-bomb.yaml"], "aliases expand to more"),
    ("space-huge-width", ["--space", "{tmp}/wide.yaml"], "values must be within 1..65536"),
    # configs for check
    ("config-latin1", ["check", "{tmp}/net-latin1.yaml"], "must be UTF-8 text"),
    ("config-duplicate-key", ["check", "{tmp}/net-dup.yaml"], "appears twice"),
    ("config-timesteps-word", ["check", "{tmp}/net-tword.yaml"], "network config is malformed"),
    # data files
    ("data-nan", ["--dataset", "{tmp}/nan.npz"], "must hold finite numbers"),
    ("data-inf", ["--dataset", "{tmp}/inf.npz"], "must hold finite numbers"),
    ("data-float32-overflow", ["--dataset", "{tmp}/huge.npz"], "fit float32"),
    ("data-strings", ["--dataset", "{tmp}/strings.npz"], "images must hold numbers"),
    ("data-one-class", ["--dataset", "{tmp}/oneclass.npz"], "at least 2 classes, but hold only 5"),
    ("data-float-labels", ["--dataset", "{tmp}/floatlabels.npz"], "labels must be integers"),
    ("data-uint64-labels", ["--dataset", "{tmp}/u64.npz"], "within 0..999, but got 1844"),
    ("data-label-1000", ["--dataset", "{tmp}/l1000.npz"], "within 0..999, but got 1000"),
    ("data-fake-zip", ["--dataset", "{tmp}/fake.npz"], "must be a readable .npz file"),
    ("data-flipped-byte", ["--dataset", "{tmp}/flipped.npz"], "must be a readable .npz file"),
    ("data-empty-npz", ["--dataset", "{tmp}/empty.npz"], "must be a readable .npz file"),
    ("idx-corrupt-gz", ["--dataset", "mnist", "--data-dir", "{tmp}/badgz"], "must be readable"),
    ("idx-impossible-header", ["--dataset", "mnist", "--data-dir", "{tmp}/badidx"], "must hold"),
    # run folders
    ("manifest-invalid", ["--study", "badjson"], "manifest.json must be readable JSON"),
    ("manifest-wrong-shape", ["--study", "badshape"], "must record the device name"),
    ("journal-deleted", ["--study", "nojournal"], "study.journal beside manifest.json"),
    # numbers and options
    ("seed-negative", ["--seed", "-1"], "--seed must be an integer within 0..2147483647"),
    ("seed-2-64", ["--seed", str(2**64)], "--seed must be an integer within"),
    ("workers-beyond-machine", ["--workers", "1000"], "--workers must be at most the"),
    ("timesteps-huge", ["--timesteps", "1000000000"], "--timesteps must be within 1..10000"),
    ("train-epochs-zero", ["train", "--epochs", "0"], "--epochs must be at least 1"),
    ("train-seed-negative", ["train", "--seed", "-5"], "--seed must be an integer within"),
    ("storage-not-a-url", ["--storage", "not-a-url"], "--storage must be an SQLAlchemy"),
    ("study-too-long", ["--study", "x" * 300], "--study must be at most 200 bytes"),
]

NO_OUT = ("check", "devices", "train")


def _profile(tmp: Path, name: str, old: str, new: str) -> None:
    """loihi.yaml with the first match of the regular expression ``old`` replaced."""
    text = (PROFILES / "loihi.yaml").read_text(encoding="utf-8")
    changed, n = re.subn(old, new, text, count=1)
    assert n == 1, old
    (tmp / name).write_text(changed, encoding="utf-8")


def _npz(tmp: Path, name: str, x: np.ndarray, y: np.ndarray) -> None:
    np.savez(tmp / name, x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])


def _run(tmp: Path, study: str, manifest: str) -> None:
    (tmp / "runs" / study).mkdir(parents=True)
    (tmp / "runs" / study / "manifest.json").write_text(manifest)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    t = tmp_path
    _profile(t, "nan.yaml", r"(e_sop_pj: \{value:) [^,]+", r"\1 .nan")
    _profile(t, "inf.yaml", r"(dt_ms: \{value:) [^,]+", r"\1 .inf")
    _profile(t, "nul.yaml", r"(?m)^name: loihi$", r'name: "loi\\0hi"')
    _profile(t, "modellist.yaml", r"model: budget", "model: [budget]")
    _profile(t, "dup.yaml", r"(?m)^limits:", "limits: {}\nlimits:")
    _profile(t, "bomb.yaml", r"(?m)^name: loihi$", "name: loihi\nbomb:\n" + indent(BOMB, "  "))
    latin = (PROFILES / "loihi.yaml").read_bytes() + "# energies in µJ\n".encode("latin-1")
    (t / "latin1.yaml").write_bytes(latin)
    (t / "net.yaml").write_text("network: {kind: mlp, input_shape: [1, 8, 8], hidden: [16]}\n")
    (t / "net-latin1.yaml").write_bytes("# µJ\nnetwork: {hidden: [16]}\n".encode("latin-1"))
    (t / "net-dup.yaml").write_text("network: {hidden: [16]}\nnetwork: {hidden: [32]}\n")
    (t / "net-tword.yaml").write_text("network: {hidden: [16], timesteps: ten}\n")
    base = "params:\n  bits: {choices: [4]}\n"
    (t / "step0.yaml").write_text(base + "  width: {low: 8, high: 24, step: 0}\n")
    (t / "stepword.yaml").write_text(base + "  rho: {low: 0.0, high: 0.5, step: fine}\n")
    (t / "tword.yaml").write_text("network: {timesteps: ten}\n" + base)
    (t / "infbound.yaml").write_text(base + "  width: {low: 8, high: .inf}\n")
    (t / "wide.yaml").write_text(base + "  width: {choices: [100000000]}\n")
    (t / "space-latin1.yaml").write_bytes(("# µJ\n" + base).encode("latin-1"))
    (t / "space-bomb.yaml").write_text(base + "description:\n" + indent(BOMB, "  "))
    rng = np.random.default_rng(0)
    x = rng.random((60, 4, 4))
    y = np.arange(60) % 3
    bad = x.copy()
    bad[3, 1, 1] = np.nan
    _npz(t, "nan.npz", bad, y)
    bad[3, 1, 1] = np.inf
    _npz(t, "inf.npz", bad, y)
    bad[3, 1, 1] = 1e300
    _npz(t, "huge.npz", bad, y)
    _npz(t, "strings.npz", np.full((60, 4, 4), "a"), y)
    _npz(t, "oneclass.npz", x, np.full(60, 5))
    _npz(t, "floatlabels.npz", x, y.astype(float))
    _npz(t, "u64.npz", x, np.where(y == 0, np.iinfo(np.uint64).max, y).astype(np.uint64))
    _npz(t, "l1000.npz", x, np.where(y == 0, 1000, y))
    (t / "fake.npz").write_bytes(b"PK\x03\x04" + b"not really a zip file" * 10)
    _npz(t, "flipped.npz", x, y)
    raw = bytearray((t / "flipped.npz").read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    (t / "flipped.npz").write_bytes(bytes(raw))
    (t / "empty.npz").write_bytes(b"")
    (t / "badgz").mkdir()
    (t / "badgz" / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\0" * 64)[:-12])
    (t / "badidx").mkdir()
    header = struct.pack(">HBB3I", 0, 0x08, 3, 2**32 - 1, 2**32 - 1, 2**32 - 1)
    (t / "badidx" / "train-images-idx3-ubyte").write_bytes(header + b"\0" * 16)
    _run(t, "badjson", "{not json")
    _run(t, "badshape", json.dumps({"study": "badshape", "device": "loihi"}))
    names = {"device": {"name": "speck"}, "space": {"name": "mlp"}, "dataset": {"name": "digits"}}
    _run(t, "nojournal", json.dumps({"study": "nojournal", **names}))
    return t


@pytest.mark.parametrize(("args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusal_is_one_clear_line(workdir: Path, args: list[str], expected: str) -> None:
    argv = [a.format(tmp=workdir) for a in args]
    if argv[0] not in NO_OUT:
        argv += ["--out", str(workdir / "runs")]
    before = sorted(str(p) for p in workdir.rglob("*"))
    proc = run_cli(*argv, cwd=workdir, timeout=300)
    assert proc.returncode not in (0, 130), proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("error:")
    assert expected in lines[0]
    after = sorted(str(p) for p in workdir.rglob("*"))
    assert after == before  # nothing created, nothing half-written


def test_count_of_cases_matches_docs() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
    assert f"{len(CASES)} bad-input cases for damaged files" in doc.read_text()
