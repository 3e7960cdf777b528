"""Event readers and binning, on small files written byte for byte from each format's layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from event_files import bin_bytes, cochlea_samples, make_nmnist, write_shd

from spikefit_search.data import (
    Binning,
    bin_events,
    load_dataset,
    read_bin,
    read_event_folder,
    read_event_npz,
    recordings,
    write_bin,
    write_event_npz,
)
from spikefit_search.data.event_folder import EVENT_DTYPE
from spikefit_search.data.events import from_arrays
from spikefit_search.exceptions import ConfigError, DataError


def test_read_bin_decodes_the_40_bit_layout(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(bin_bytes([(3, 33, 1, 0x7FFFFF), (0, 1, 0, 258), (33, 0, 1, 65536)]))
    ev = read_bin(path)
    assert ev["x"].tolist() == [3, 0, 33]
    assert ev["y"].tolist() == [33, 1, 0]
    assert ev["p"].tolist() == [1, 0, 1]
    assert ev["t"].tolist() == [0x7FFFFF, 258, 65536]


def test_read_bin_overflow_marker_shifts_later_time_stamps(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(bin_bytes([(1, 1, 0, 10), (0, 240, 0, 0), (2, 2, 1, 5)]))
    ev = read_bin(path)
    assert ev["t"].tolist() == [10, 5 + 2**13]
    assert ev["x"].tolist() == [1, 2]


def test_write_bin_round_trips(tmp_path: Path) -> None:
    ev = np.zeros(4, EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = [0, 5, 33, 255], [1, 2, 3, 4], [0, 9, 2**20, 2**23 - 1], 1
    write_bin(tmp_path / "a.bin", ev)
    assert (read_bin(tmp_path / "a.bin") == ev).all()


def test_read_bin_refuses_a_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(bin_bytes([(1, 1, 0, 10)]) + b"\x00\x01")
    with pytest.raises(DataError, match="multiple of 5"):
        read_bin(path)


def test_event_folder_reads_train_and_test_with_folder_labels(tmp_path: Path) -> None:
    root = make_nmnist(tmp_path / "NMNIST", n_train=3, n_test=2, classes=3)
    train, test = read_event_folder(root)
    assert test is not None
    assert train.n_samples == 9 and test.n_samples == 6
    assert sorted(set(train.labels.tolist())) == [0, 1, 2]
    assert train.n_events == 9 * 31
    assert train.sensor[0] == 2


def test_event_folder_refuses_stray_files_and_unknown_test_classes(tmp_path: Path) -> None:
    root = make_nmnist(tmp_path / "a")
    (root / "Train" / "0" / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match=r"only \.bin or \.npy .* notes\.txt"):
        read_event_folder(root)
    root = make_nmnist(tmp_path / "b")
    (root / "Test" / "7").mkdir()
    with pytest.raises(DataError, match="must also be in the training split"):
        read_event_folder(root)


def test_event_folder_of_structured_npy_arrays(tmp_path: Path) -> None:
    dtype = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    for k, name in enumerate(["cat", "dog"]):
        (tmp_path / name).mkdir()
        for i in range(3):
            ev = np.zeros(5, dtype)
            ev["x"], ev["y"], ev["t"], ev["p"] = k, i, np.arange(5) * 100, [0, 1, 0, 1, 1]
            np.save(tmp_path / name / f"{i}.npy", ev)
    train, test = read_event_folder(tmp_path)
    assert test is None
    assert train.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert train.c.tolist()[:5] == [0, 1, 0, 1, 1]


def test_binning_counts_each_sample_over_its_own_window() -> None:
    # sample 0: window 0..100 us; sample 1: window 1000..1003 us (same bins, scaled)
    rec = from_arrays(
        t=np.array([0, 40, 60, 100, 1000, 1003], float),
        c=np.array([0, 1, 1, 0, 1, 1]),
        y=np.array([0, 0, 0, 1, 1, 1]),
        x=np.array([0, 1, 1, 1, 0, 0]),
        lengths=np.array([4, 2]),
        labels=np.array([0, 1]),
        where="test",
    )
    frames = bin_events(rec, Binning(timesteps=2))
    assert frames.shape == (2, 2, 2, 2, 2) and frames.dtype == np.uint8
    assert frames[0, 0, 0, 0, 0] == 1 and frames[0, 0, 1, 0, 1] == 1
    assert frames[0, 1, 1, 0, 1] == 1 and frames[0, 1, 0, 1, 1] == 1
    assert frames[1, 0, 1, 1, 0] == 1 and frames[1, 1, 1, 1, 0] == 1
    assert int(frames.sum()) == 6
    assert rec.durations_us().tolist() == [100.0, 3.0]


def test_binning_binary_downsample_and_channel_group() -> None:
    rec = from_arrays(
        t=np.zeros(4),
        c=np.array([0, 1, 1, 0]),
        y=np.array([0, 1, 3, 3]),
        x=np.array([0, 1, 2, 3]),
        lengths=np.array([4]),
        labels=np.array([0]),
        where="test",
    )
    counts = bin_events(rec, Binning(timesteps=1, downsample=2, channel_group=2))
    assert counts.shape == (1, 1, 1, 2, 2)
    assert counts[0, 0, 0].tolist() == [[2, 0], [0, 2]]
    binary = bin_events(rec, Binning(timesteps=1, mode="binary", downsample=2, channel_group=2))
    assert binary[0, 0, 0].tolist() == [[1, 0], [0, 1]]


def test_binning_refuses_bad_settings() -> None:
    with pytest.raises(ConfigError, match="timesteps must be a positive integer"):
        Binning(timesteps=0)
    with pytest.raises(ConfigError, match="mode must be one of count, binary"):
        Binning(mode="sum")  # type: ignore[arg-type]


def test_load_dataset_detects_an_nmnist_folder_and_keeps_the_window(tmp_path: Path) -> None:
    root = make_nmnist(tmp_path / "NMNIST", n_train=20, n_test=4)
    data = load_dataset(str(root), binning=Binning(timesteps=3))
    assert data.x_train.shape[1:] == (3, 2, 34, 34)
    assert data.input_shape == (2, 34, 34) and data.timesteps == 3
    assert data.n_classes == 2 and data.sizes()["test"] == 8
    assert data.window_ms is not None and 200 < data.window_ms <= 300
    total = sum(int(getattr(data, f"x_{s}").sum()) for s in ("train", "val", "calib", "test"))
    assert total == 48 * 31  # every event lands in exactly one frame cell
    assert load_dataset("digits").window_ms is None


def test_shd_pair_is_read_with_700_channels_and_seconds(tmp_path: Path) -> None:
    samples, labels = cochlea_samples(12, 3)
    write_shd(tmp_path / "shd_train.h5", samples, labels)
    write_shd(tmp_path / "shd_test.h5", samples[:6], labels[:6])
    data = load_dataset(str(tmp_path / "shd_train.h5"), binning=Binning(timesteps=4))
    assert data.input_shape == (700, 1, 1) and data.timesteps == 4
    assert data.sizes()["test"] == 6 and data.n_classes == 3
    spans = [float(t.astype("f4").max() - t.astype("f4").min()) for t, _ in samples]
    assert data.window_ms == pytest.approx(1e3 * np.mean(spans + spans[:6]), rel=1e-4)
    x = torch.cat([data.x_train, data.x_val, data.x_calib])
    assert int(x.sum()) == 12 * 40


def test_single_shd_file_holds_out_a_stratified_test_split(tmp_path: Path) -> None:
    samples, labels = cochlea_samples(30, 3)
    write_shd(tmp_path / "my_train.h5", samples, labels)
    data = load_dataset(str(tmp_path / "my_train.h5"), binning=Binning(timesteps=2))
    assert data.sizes()["test"] == 6
    assert sorted(data.y_test.tolist()) == [0, 0, 1, 1, 2, 2]


def test_shd_file_with_mismatched_entries_is_refused(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "shd_train.h5"
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (2,), dtype=h5py.vlen_dtype("f4"))
        units = f.create_dataset("spikes/units", (2,), dtype=h5py.vlen_dtype("u2"))
        times[0], times[1] = np.array([0.1, 0.2], "f4"), np.array([0.1], "f4")
        units[0], units[1] = np.array([1, 2], "u2"), np.array([1, 2], "u2")
        f.create_dataset("labels", data=np.array([0, 1], "u2"))
    with pytest.raises(DataError, match="sample 1 must have one unit per spike time"):
        load_dataset(str(path))
    with h5py.File(tmp_path / "x_train.h5", "w") as f:
        f.create_dataset("labels", data=np.array([0, 1], "u2"))
    with pytest.raises(DataError, match="lacks spikes/times, spikes/units"):
        load_dataset(str(tmp_path / "x_train.h5"))
    (tmp_path / "junk_train.h5").write_bytes(b"not hdf5")
    with pytest.raises(DataError, match="must be a readable HDF5 file"):
        load_dataset(str(tmp_path / "junk_train.h5"))


def test_event_npz_plain_arrays_and_structured_events(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(
        path,
        train_t=np.array([0, 1, 2, 0, 5], float),
        train_x=np.array([0, 1, 2, 3, 3]),
        train_y=np.array([0, 0, 1, 1, 2]),
        train_p=np.array([-1, 1, 1, -1, 1]),
        train_lengths=np.array([3, 2]),
        train_labels=np.array([0, 1]),
        time_unit=np.array("ms"),
    )
    train, test = read_event_npz(path)
    assert test is None
    assert train.sensor == (2, 3, 4)
    assert train.c.tolist() == [0, 1, 1, 0, 1]
    assert train.t.tolist() == [0, 1000, 2000, 0, 5000]

    dtype = np.dtype([("channel", "<u2"), ("t", "<f8")])
    samples = [np.array([(i, 10.0 * i) for i in range(k + 2)], dtype) for k in range(6)]
    path2 = tmp_path / "audio.npz"
    write_event_npz(
        path2, samples, np.arange(6) % 2, samples[:2], np.array([0, 1]), sensor_shape=(8, 1, 1)
    )
    data = load_dataset(str(path2), binning=Binning(timesteps=2))
    assert data.input_shape == (8, 1, 1) and data.sizes()["test"] == 2


def test_event_npz_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(
        path,
        train_t=np.array([0.0, 1.0]),
        train_x=np.array([0, 1]),
        train_y=np.array([0, 0]),
        train_p=np.array([0, 1]),
        train_lengths=np.array([3]),
        train_labels=np.array([0]),
    )
    with pytest.raises(DataError, match=r"t must hold one value per event \(3"):
        load_dataset(str(path))
    np.savez(path, train_lengths=np.array([1]), train_labels=np.array([0]))
    with pytest.raises(DataError, match="must hold train_events, or train_t"):
        load_dataset(str(path))
    np.savez(
        path,
        train_t=np.array([np.nan]),
        train_channel=np.array([0]),
        train_lengths=np.array([1]),
        train_labels=np.array([0]),
    )
    with pytest.raises(DataError, match="time stamps must be finite"):
        load_dataset(str(path))


def test_recordings_refuse_unknown_fields_and_mixed_kinds() -> None:
    cam = np.zeros(2, EVENT_DTYPE)
    audio = np.zeros(2, [("channel", "<i4"), ("t", "<f8")])
    with pytest.raises(DataError, match="fields x, y, t, p or channel, t"):
        recordings([np.zeros(2, [("a", "<i4")])], [0], where="w")
    with pytest.raises(DataError, match="mixes both"):
        recordings([cam, audio], [0, 1], where="w")
    with pytest.raises(DataError, match="one label per sample"):
        recordings([cam], [0, 1], where="w")
    with pytest.raises(DataError, match="polarities must be 0 or 1, but got 2"):
        from_arrays(
            t=np.zeros(1),
            c=np.array([2]),
            y=np.zeros(1, int),
            x=np.zeros(1, int),
            lengths=np.array([1]),
            labels=np.array([0]),
            where="w",
        )


def test_emulated_saccades_fire_at_moving_edges_only() -> None:
    from spikefit_search.data.saccades import EMULATED_DIGITS, SENSOR, saccade_events

    images = np.zeros((2, 8, 8))
    images[1, 2:6, 2:6] = 1.0  # a bright square; image 0 stays blank
    events, lengths = saccade_events(images)
    assert lengths[0] == 0 and lengths[1] > 0
    assert set(events["p"].tolist()) == {0, 1}  # leading edges ON, trailing edges OFF
    assert events["t"].min() > 0 and events["t"].max() <= 300_000
    assert np.all(np.diff(events["t"]) >= 0)
    assert events["x"].max() < SENSOR and events["y"].max() < SENSOR
    # the square's inside stays bright through the moves: no event from its centre pixels
    centre = (events["y"] >= 13) & (events["y"] <= 14) & (events["x"] >= 13) & (events["x"] <= 14)
    assert not centre.any()
    from spikefit_search.data import event_format

    assert event_format(EMULATED_DIGITS, None) == (EMULATED_DIGITS, Path(EMULATED_DIGITS))


def test_a_folder_without_recordings_is_refused_with_a_pointer(tmp_path: Path) -> None:
    (tmp_path / "Train" / "0").mkdir(parents=True)
    with pytest.raises(DataError, match="holds none; for IDX files use --dataset mnist"):
        load_dataset(str(tmp_path))
