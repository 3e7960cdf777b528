from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
import torch
from search_options import options

from spikefit_search.compression import PipelineConfig, run_pipeline, warm_up
from spikefit_search.data import load_dataset
from spikefit_search.search import run_search
from spikefit_search.search.cache import WarmupCache, warmup_key
from spikefit_search.search.storage import open_storage
from spikefit_search.snn import NetworkConfig


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return load_dataset("digits", seed=0, limit_train=160)


def _cfg(**kw: object) -> PipelineConfig:
    base = dict(
        network=NetworkConfig(hidden=(12,), timesteps=2),
        n_values=3,
        bits=4,
        warmup_epochs=2,
        finetune_epochs=1,
        batch_size=32,
        seed=5,
        warmup_seed=1,
    )
    base.update(kw)
    return PipelineConfig(**base)  # type: ignore[arg-type]


def test_key_follows_what_the_warm_up_depends_on() -> None:
    a = _cfg()
    assert warmup_key(a, "d", "cpu") == warmup_key(
        replace(a, n_values=2, rho=0.5, seed=9), "d", "cpu"
    )
    for other in (
        replace(a, network=NetworkConfig(hidden=(12,), timesteps=3)),
        replace(a, network=NetworkConfig(hidden=(13,), timesteps=2)),
        replace(a, warmup_epochs=3),
        replace(a, lr=1e-3),
        replace(a, warmup_seed=2),
    ):
        assert warmup_key(other, "d", "cpu") != warmup_key(a, "d", "cpu")
    assert warmup_key(a, "other data", "cpu") != warmup_key(a, "d", "cpu")


def test_second_candidate_of_an_architecture_reuses_the_warm_up_exactly(
    tmp_path: Path, data: object
) -> None:
    cache = WarmupCache(tmp_path / "warmups", data, "cpu")  # type: ignore[arg-type]
    first = run_pipeline(_cfg(), data, warmup_store=cache)  # type: ignore[arg-type]
    second_cfg = _cfg(n_values=2, rho=0.25, seed=7)
    second = run_pipeline(second_cfg, data, warmup_store=cache)  # type: ignore[arg-type]
    assert (cache.stats.misses, cache.stats.hits) == (1, 1)
    assert len(list((tmp_path / "warmups").glob("*.pt"))) == 1
    # a reused warm-up gives what training it again gives
    fresh = run_pipeline(second_cfg, data)  # type: ignore[arg-type]
    assert second.val_accuracy == fresh.val_accuracy
    assert second.warmup_val_accuracy == fresh.warmup_val_accuracy == first.warmup_val_accuracy
    for a, b in zip(second.model.state_dict().values(), fresh.model.state_dict().values()):
        assert torch.equal(a, b)
    # a new cache on the same folder (a resumed search) finds it
    again = WarmupCache(tmp_path / "warmups", data, "cpu")  # type: ignore[arg-type]
    run_pipeline(_cfg(n_values=4), data, warmup_store=again)  # type: ignore[arg-type]
    assert again.stats.hits == 1


def test_concurrent_requests_train_once(tmp_path: Path, data: object) -> None:
    cache = WarmupCache(tmp_path / "warmups", data, "cpu")  # type: ignore[arg-type]
    cfg = _cfg()
    calls = []

    def train():  # type: ignore[no-untyped-def]
        calls.append(1)
        time.sleep(0.3)  # long enough for the other thread to ask meanwhile
        return warm_up(cfg, data)[0]  # type: ignore[arg-type]

    threads = [threading.Thread(target=cache.get_or_train, args=(cfg, train)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and (cache.stats.misses, cache.stats.hits) == (1, 1)
    assert not list((tmp_path / "warmups").glob(".tmp-*"))  # nothing half-written left


def test_unreadable_file_is_trained_again(tmp_path: Path, data: object) -> None:
    cache = WarmupCache(tmp_path / "warmups", data, "cpu")  # type: ignore[arg-type]
    cfg = _cfg()
    cache.folder.mkdir()
    cache.path(cfg).write_bytes(b"not a checkpoint")
    model = cache.get_or_train(cfg, lambda: warm_up(cfg, data)[0])  # type: ignore[arg-type]
    assert cache.stats.misses == 1 and model is not None
    assert WarmupCache(cache.folder, data, "cpu")._load(cache.path(cfg), cfg) is not None  # type: ignore[arg-type]


def test_search_reuses_warm_ups_across_candidates(tmp_path: Path) -> None:
    space = tmp_path / "one_arch.yaml"
    space.write_text(
        "name: one_arch\nnetwork: {kind: mlp, timesteps: 2}\n"
        "params:\n  n_values: {choices: [2, 3, 4]}\n  bits: {choices: [4, 8]}\n"
        "  rho: {choices: [0.0, 0.5]}\n  width: {choices: [16]}\n"
        "training: {warmup_epochs: 2, finetune_epochs: 1, batch_size: 32}\n"
    )
    opts = options(tmp_path, space, limit_train=160)
    result = run_search(opts)
    assert len(list((result.run_dir / "warmups").glob("*.pt"))) == 1
    study = optuna.load_study(
        study_name=result.study_name, storage=open_storage(result.run_dir, None)
    )
    trained = [t for t in study.trials if "warmup_reused" in t.user_attrs]
    assert [t.user_attrs["warmup_reused"] for t in trained] == [False, True, True]
    assert all(t.user_attrs["pipeline"]["warmup_seed"] == 1 for t in trained)


def test_a_killed_worker_leaves_no_lock_behind(tmp_path: Path, data: object) -> None:
    import subprocess
    import sys

    cache = WarmupCache(tmp_path / "warmups", data, "cpu")  # type: ignore[arg-type]
    cfg = _cfg()
    lock = cache.path(cfg).with_suffix(".lock")
    cache.folder.mkdir()
    holder = subprocess.Popen(  # a worker that holds the key's lock while it trains, then dies
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"h = open({str(lock)!r}, 'a+'); fcntl.flock(h, fcntl.LOCK_EX)\n"
            "print('locked', flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait()
    worker = threading.Thread(
        target=cache.get_or_train,
        args=(cfg, lambda: warm_up(cfg, data)[0]),  # type: ignore[arg-type]
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive() and cache.stats.misses == 1
