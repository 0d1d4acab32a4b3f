"""Read and write ``.safetensors`` files with numpy alone.

Converting a PEFT adapter must work without the optional ``train`` extra (no torch), and the format
is simple: a little-endian u64 header length, a JSON header ``{name: {"dtype", "shape",
"data_offsets": [start, end]}, "__metadata__": {...}}``, then the raw tensor bytes.

Why not ``safetensors.numpy``: PEFT saves adapters in the base model's dtype, very often bfloat16,
and numpy has no bfloat16, so ``safetensors.numpy.load_file`` raises ``TypeError: data type
'bfloat16' not understood`` on them (checked with safetensors 0.8). Here bf16 is widened to float32, which is exact.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from engine.errors import LoraConversionError

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U8": "u1", "BOOL": "?"}
_NAMES = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<f2"): "F16"}
MAX_HEADER = 100 * 1024 * 1024


def read_safetensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All tensors of ``path`` as numpy arrays (bf16 widened to float32) and the file's metadata."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoraConversionError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    bad = f"{path} is not a valid safetensors file"
    if len(raw) < 8:
        raise LoraConversionError(f"{bad} (it is {len(raw)} bytes long). Save the adapter again.")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > MAX_HEADER or 8 + size > len(raw):
        raise LoraConversionError(f"{bad} (its header claims {size:,} bytes). Save the adapter again.")
    try:
        header = json.loads(raw[8:8 + size])
    except (UnicodeDecodeError, ValueError) as exc:
        raise LoraConversionError(f"{bad} (its header is not JSON: {exc}). Save the adapter again.") from None
    if not isinstance(header, dict):
        raise LoraConversionError(f"{bad} (its header is not a JSON object).")
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(raw)[8 + size:]
    tensors: dict[str, np.ndarray] = {}
    for name, spec in header.items():
        try:
            dtype, shape, (start, end) = spec["dtype"], [int(d) for d in spec["shape"]], spec["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise LoraConversionError(f"{bad}: the entry for {name!r} is malformed.") from None
        if not 0 <= start <= end <= len(data):
            raise LoraConversionError(f"{bad}: {name!r} points outside the file (the file may be cut off).")
        chunk = data[start:end]
        if dtype == "BF16":
            array = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in _DTYPES:
            array = np.frombuffer(chunk, dtype=_DTYPES[dtype])
        else:
            raise LoraConversionError(f"{path}: tensor {name!r} has dtype {dtype}, which cannot be converted.")
        expected = int(np.prod(shape)) if shape else 1
        if array.size != expected:
            raise LoraConversionError(f"{bad}: {name!r} should hold {expected} values but has {array.size}.")
        tensors[name] = array.reshape(shape)
    return tensors, {str(k): str(v) for k, v in metadata.items()}


def write_safetensors(path: str | Path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    """Write float64/32/16 numpy arrays as a safetensors file (used to make adapter folders without torch)."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        dtype = _NAMES.get(array.dtype.newbyteorder("<"))
        if dtype is None:
            raise ValueError(f"cannot write {array.dtype} tensors")
        blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the format aligns the data to 8 bytes
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for blob in blobs:
            handle.write(blob)
