"""The IDX file format (MNIST's): read and write arrays, gzipped or not."""

from __future__ import annotations

import functools
import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from grader.data.bundle import DataError, read_only

# IDX type byte -> big-endian numpy dtype (the format's own table).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: Path) -> np.ndarray:
    """The array in an IDX file (gzipped or not, told by its first bytes); raises DataError."""
    return read_idx_file(Path(path))[1]


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write `array` as an unsigned-byte IDX file (MNIST's kind); gzip it when `path` ends in .gz.

    Integer arrays must hold values in 0..255: (N,) labels get magic 2049, (N,28,28) images 2051.
    """
    path = Path(path)
    data = np.asarray(array)
    if data.dtype != np.uint8:
        if data.dtype.kind not in "iub" or (data.size and (data.min() < 0 or data.max() > 255)):
            raise ValueError(f"{path.name}: write_idx writes bytes 0..255, got {data.dtype} values")
        data = data.astype(np.uint8)
    if not 1 <= data.ndim <= 255:
        raise ValueError(f"{path.name}: cannot write a {data.ndim}-dimensional array as IDX")
    payload = _idx_header(data.shape) + np.ascontiguousarray(data).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=1, mtime=0)
    write_bytes(path, payload)
    return path


def _idx_header(shape: tuple[int, ...]) -> bytes:
    return struct.pack(f">BBBB{len(shape)}I", 0, 0, 0x08, len(shape), *shape)


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: str, size: int, mtime_ns: int) -> tuple[int, np.ndarray]:
    return _parse_idx(Path(path).name, _read_maybe_gzipped(Path(path)))


def read_idx_file(path: Path) -> tuple[int, np.ndarray]:
    """(magic, read-only array) of an IDX file; cached while the file is unchanged."""
    try:
        return _read_idx_cached(*file_key(path))
    except OSError as exc:
        raise DataError(f"{path.name}: cannot read ({exc.strerror or exc})") from exc


def _read_maybe_gzipped(path: Path) -> bytes:
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path.name}: corrupt or truncated gzip data ({exc})") from exc


def _parse_idx(name: str, raw: bytes) -> tuple[int, np.ndarray]:
    if len(raw) < 4:
        raise DataError(f"{name}: {len(raw)} bytes, too short for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    magic = struct.unpack(">I", raw[:4])[0]
    if zero != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(f"{name}: magic {magic} is not an IDX header (expected e.g. 2051 or 2049)")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{name}: truncated header ({len(raw)} bytes, needs {header_size})")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_size != expected:
        dims = "x".join(str(d) for d in shape)
        raise DataError(
            f"{name}: {len(raw) - header_size:,} data bytes, but its header ({dims}) "
            f"needs {expected:,}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    if dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
    return magic, read_only(array)




def file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_size, stat.st_mtime_ns)


def write_bytes(path: Path, payload: bytes) -> None:
    temporary = temporary_name(path)
    temporary.write_bytes(payload)
    os.replace(temporary, path)


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")
