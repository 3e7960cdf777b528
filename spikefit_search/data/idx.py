"""Reader for the IDX format of MNIST-family files (optionally gzip-compressed)."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from spikefit_search.exceptions import DataError

_DTYPES: dict[int, str] = {
    0x08: "u1",
    0x09: "i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or not) into a numpy array.

    Raises:
        DataError: the file is missing, truncated or not IDX.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path) as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"IDX file must exist, but {path} was not found.") from None
    except (OSError, EOFError, zlib.error) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DataError(f"IDX file {path} must be readable, but got {reason}.") from None
    if len(raw) < 4:
        raise DataError(
            f"IDX file {path} must start with a 4-byte header, but has {len(raw)} bytes."
        )
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _DTYPES or not 1 <= ndim <= 4:
        raise DataError(f"IDX file {path} must start with the IDX magic number, but does not.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"IDX file {path} is truncated in its header.")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: an absurd shape cannot wrap
    if len(raw) - header != expected:
        raise DataError(
            f"IDX file {path} must hold {expected} data bytes for shape {shape}, "
            f"but holds {len(raw) - header}."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
