"""Read and check a GGUF model file's header without loading the model.

The reader streams the header (key/value metadata and the tensor table) through a buffered file
with ``struct``; it never maps or reads the tensor data. That keeps ``nook models info`` and the
pre-load checks fast (SmolLM2's header, with its 49k-token vocabulary, reads in a fraction of a
second) and lets us turn every way a download can go wrong into a plain ``ModelLoadError``
before llama.cpp gets a chance to print a C++ log line and return NULL.

Format (little-endian): ``b"GGUF"``, u32 version, u64 tensor count, u64 KV count, the KV pairs,
the tensor infos, padding to ``general.alignment``, then the tensor data. Offsets in the tensor
infos are relative to the start of that data section.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import ModelLoadError, ModelNotFoundError
from engine.models.gguf_info import (  # noqa: F401  (re-exported: the reader's results)
    _ARRAY,
    _BOOL,
    _FLOAT32,
    _FLOAT64,
    _INT8,
    _INT16,
    _INT32,
    _INT64,
    _STRING,
    _UINT8,
    _UINT16,
    _UINT32,
    _UINT64,
    _VALUE_TYPE_NAMES,
    ArraySummary,
    GGUFInfo,
    TensorInfo,
    check_architecture_supported,
    ggml_type_name,
)

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# Limits that separate "corrupt" from "large". llama.cpp allows strings and arrays up to 2**30;
# real keys and tensor names are short (llama.cpp caps tensor names at 63 bytes) and the longest
# real string values (chat templates) are tens of KiB.
MAX_KEY_BYTES = 64 * 1024
MAX_TENSOR_NAME_BYTES = 63
MAX_STRING_BYTES = 16 * 1024 * 1024
MAX_ARRAY_ITEMS = 1 << 30
MAX_DIMS = 4
MAX_COUNT = 1 << 20  # tensors or metadata entries
# Real files nest arrays at most once; deeper nesting is garbage (and would exhaust the stack).
MAX_ARRAY_NESTING = 8
# Arrays longer than this are kept as an ArraySummary (a vocabulary has tens of thousands of items).
MAX_INLINE_ARRAY = 1024


_SCALAR_FORMATS: dict[int, struct.Struct] = {
    _UINT8: struct.Struct("<B"),
    _INT8: struct.Struct("<b"),
    _UINT16: struct.Struct("<H"),
    _INT16: struct.Struct("<h"),
    _UINT32: struct.Struct("<I"),
    _INT32: struct.Struct("<i"),
    _FLOAT32: struct.Struct("<f"),
    _BOOL: struct.Struct("<?"),
    _UINT64: struct.Struct("<Q"),
    _INT64: struct.Struct("<q"),
    _FLOAT64: struct.Struct("<d"),
}
_U32 = _SCALAR_FORMATS[_UINT32]
_U64 = _SCALAR_FORMATS[_UINT64]

_REDOWNLOAD = "download it again"


# -- reading ------------------------------------------------------------------------------------


class _Truncated(Exception):
    """The file ended while reading ``what``; turned into a ModelLoadError by read_gguf."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class _Corrupt(Exception):
    """A field holds an impossible value; turned into a ModelLoadError by read_gguf."""


class _UnknownTensorType(Exception):
    """A tensor uses a ggml type missing from gguf's tables; turned into a ModelLoadError."""

    def __init__(self, name: str, ggml_type: int) -> None:
        super().__init__(name, ggml_type)
        self.name = name
        self.ggml_type = ggml_type


class _Reader:
    """Little-endian reads from a buffered file, with our own position so EOF checks are cheap."""

    def __init__(self, file: BinaryIO, file_size: int) -> None:
        self._file = file
        self.size = file_size
        self.pos = 0
        self.what = "the file header"  # what we are reading, for error messages

    def read(self, n: int) -> bytes:
        if self.pos + n > self.size:
            raise _Truncated(self.what)
        data = self._file.read(n)
        if len(data) != n:
            raise _Truncated(self.what)
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if self.pos + n > self.size:
            raise _Truncated(self.what)
        if n < 4096:
            self._file.read(n)
        else:
            self._file.seek(n, 1)
        self.pos += n

    def u32(self) -> int:
        return _U32.unpack(self.read(4))[0]

    def u64(self) -> int:
        return _U64.unpack(self.read(8))[0]

    def raw_string(self, limit: int, kind: str) -> bytes:
        length = self.u64()
        if length > limit:
            raise _Corrupt(f"{kind} claims to be {length:,} bytes long (at most {limit:,} is plausible)")
        return self.read(length)

    def name(self, limit: int, kind: str) -> str:
        raw = self.raw_string(limit, kind)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _Corrupt(f"{kind} {raw[:40]!r} is not valid UTF-8") from None

    def value(self, value_type: int, depth: int = 0) -> Any:
        scalar = _SCALAR_FORMATS.get(value_type)
        if scalar is not None:
            return scalar.unpack(self.read(scalar.size))[0]
        if value_type == _STRING:
            return self.raw_string(MAX_STRING_BYTES, "a text value").decode("utf-8", errors="replace")
        if value_type == _ARRAY:
            return self.array(depth + 1)
        raise _Corrupt(f"unknown value type {value_type}")

    def array(self, depth: int = 1) -> list[Any] | ArraySummary:
        if depth > MAX_ARRAY_NESTING:
            raise _Corrupt(f"arrays are nested more than {MAX_ARRAY_NESTING} deep")
        item_type = self.u32()
        length = self.u64()
        if item_type not in _VALUE_TYPE_NAMES:
            raise _Corrupt(f"array of unknown value type {item_type}")
        if length > MAX_ARRAY_ITEMS:
            raise _Corrupt(f"array claims {length:,} items (at most {MAX_ARRAY_ITEMS:,} is plausible)")
        if length <= MAX_INLINE_ARRAY:
            return [self.value(item_type, depth) for _ in range(length)]
        self._skip_items(item_type, length, depth)
        return ArraySummary(item_type, length)

    def _skip_items(self, item_type: int, length: int, depth: int) -> None:
        scalar = _SCALAR_FORMATS.get(item_type)
        if scalar is not None:
            self.skip(scalar.size * length)
        elif item_type == _STRING:
            for _ in range(length):
                size = self.u64()
                if size > MAX_STRING_BYTES:
                    raise _Corrupt(f"an array item claims to be {size:,} bytes long")
                self.skip(size)
        else:  # nested arrays
            if depth >= MAX_ARRAY_NESTING:
                raise _Corrupt(f"arrays are nested more than {MAX_ARRAY_NESTING} deep")
            for _ in range(length):
                inner_type = self.u32()
                inner_length = self.u64()
                if inner_type not in _VALUE_TYPE_NAMES or inner_length > MAX_ARRAY_ITEMS:
                    raise _Corrupt("a nested array has an impossible type or length")
                self._skip_items(inner_type, inner_length, depth + 1)


def read_gguf(path: str | Path, *, check_data: bool = True) -> GGUFInfo:
    """Read and validate the header of the GGUF file at ``path``.

    With ``check_data`` the file must also be long enough to hold every tensor's data, which
    catches interrupted downloads; turn it off to inspect a file that is still downloading.
    Every problem raises ``ModelNotFoundError`` or ``ModelLoadError`` with a plain message.
    """
    path = Path(path).expanduser()
    file_size = _check_is_file(path)
    try:
        with path.open("rb", buffering=1 << 20) as file:
            first = file.read(64)  # enough to recognise what a non-GGUF file is
            version = _check_magic_and_version(path, first)
            file.seek(8)
            reader = _Reader(file, file_size)
            reader.pos = 8
            info = _read_header(path, reader, version)
        _check_tensor_layout(info, check_data=check_data)
    except _Truncated as exc:
        raise ModelLoadError(
            f"{path} is cut off: it ends after {file_size:,} bytes, inside the GGUF header "
            f"(while reading {exc.what}). The download was probably interrupted; {_REDOWNLOAD}."
        ) from None
    except _UnknownTensorType as exc:
        raise ModelLoadError(
            f"{path} stores tensor {exc.name!r} in ggml type {exc.ggml_type}, which this version of Inglenook "
            "does not know; the file may need a newer llama.cpp. Update Inglenook, or download a more common "
            "quantization of the model (e.g. Q4_K_M)."
        ) from None
    except _Corrupt as exc:
        raise ModelLoadError(f"{path} is corrupt: {exc}. {_REDOWNLOAD.capitalize()}.") from None
    except PermissionError:
        raise ModelLoadError(f"Cannot read {path}: permission denied. Check the file's permissions.") from None
    except MemoryError:
        raise ModelLoadError(f"{path} has an impossibly large header; it is corrupt. {_REDOWNLOAD.capitalize()}.") from None
    except (OSError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"Cannot read {path}: {exc}. Check the file, or {_REDOWNLOAD}.") from None
    return info


def _check_is_file(path: Path) -> int:
    """The file's size, after making sure it exists, is a regular file and is not empty."""
    try:
        if not path.exists():
            raise ModelNotFoundError(f"{path} does not exist. Check the path, or download the model again.")
        if path.is_dir():
            inside = sorted(p.name for p in path.glob("*.gguf"))[:5]
            hint = f" It contains {', '.join(inside)}: pass one of those." if inside else " Pass the .gguf file itself."
            raise ModelLoadError(f"{path} is a folder, not a GGUF model file.{hint}")
        size = path.stat().st_size
    except OSError as exc:
        raise ModelLoadError(f"Cannot read {path}: {exc.strerror or exc}. Check the path and permissions.") from None
    if size == 0:
        raise ModelLoadError(f"{path} is empty (0 bytes); the download failed. Delete it and {_REDOWNLOAD}.")
    return size


def _check_magic_and_version(path: Path, first: bytes) -> int:
    if first[:4] != GGUF_MAGIC:
        raise ModelLoadError(_not_gguf_message(path, first))
    if len(first) < 8:
        raise _Truncated("the GGUF version")
    version = _U32.unpack(first[4:8])[0]
    if version in SUPPORTED_VERSIONS:
        return version
    swapped = struct.unpack(">I", first[4:8])[0]
    if swapped in SUPPORTED_VERSIONS:
        raise ModelLoadError(
            f"{path} is a big-endian GGUF (made for machines such as IBM s390x); this computer needs the "
            "ordinary little-endian file. Download the standard GGUF version of the model."
        )
    if version == 1:
        raise ModelLoadError(
            f"{path} is a GGUF version 1 file, an early format llama.cpp no longer reads. "
            "Download a newer GGUF of the model (version 2 or 3)."
        )
    if version == 0:
        raise ModelLoadError(f"{path} is corrupt: its GGUF version is 0. {_REDOWNLOAD.capitalize()}.")
    raise ModelLoadError(
        f"{path} is GGUF version {version}, newer than this app understands (versions 2 and 3). "
        "Update Inglenook, or download a file made for current llama.cpp."
    )


def _not_gguf_message(path: Path, first: bytes) -> str:
    """Say what the file seems to be instead, so the user knows which mistake to fix."""
    lead = f"{path} is not a GGUF file (first bytes {first[:8]!r})"
    text = first.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        return f"{lead}: the download saved a web page (probably an error or sign-in page) instead of the model. Download the .gguf file again."
    if text.startswith(b"version https://git-lfs"):
        return f"{lead}: it is a Git LFS pointer, a small placeholder for the real file. Download the actual .gguf file."
    if first[:4] == b"PK\x03\x04":
        return f"{lead}: it is a ZIP archive (maybe a zipped download or a PyTorch checkpoint). Unzip it, or download a .gguf version of the model."
    if len(first) >= 10 and first[8:10] == b'{"':
        return f"{lead}: it looks like a safetensors file (the Hugging Face format). Download a GGUF version of the model, or convert it with llama.cpp's convert_hf_to_gguf.py."
    if text.startswith((b"{", b"[")):
        return f"{lead}: it is a JSON file (perhaps a config file or an error response), not a model. Download the .gguf file itself."
    if first[:4] in (b"lmgg", b"fmgg", b"tjgg"):
        return f"{lead}: it is an old GGML/GGJT model from before GGUF (2023), which llama.cpp no longer reads. Download a GGUF version of the model."
    if first[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        return f"{lead}: it is a Python pickle (a PyTorch checkpoint). Download a GGUF version of the model."
    return f"{lead}; it may be a different format or damaged. Check that you picked a .gguf file, or {_REDOWNLOAD}."


def _read_header(path: Path, reader: _Reader, version: int) -> GGUFInfo:
    reader.what = "the tensor and metadata counts"
    tensor_count = reader.u64()
    kv_count = reader.u64()
    # Real models have at most a few thousand of each; a cut-off file is reported when the
    # reading runs out, so only impossible counts are called corrupt here.
    if tensor_count > MAX_COUNT or kv_count > MAX_COUNT:
        raise _Corrupt(
            f"its header claims {tensor_count:,} tensors and {kv_count:,} metadata entries (at most {MAX_COUNT:,} is plausible)"
        )
    metadata = _read_metadata(reader, kv_count)
    tensors = _read_tensor_infos(reader, tensor_count)
    alignment = _alignment(metadata)
    data_offset = _align_up(reader.pos, alignment) if tensor_count else reader.pos
    return GGUFInfo(
        path=path,
        version=version,
        file_size=reader.size,
        data_offset=data_offset,
        metadata=metadata,
        tensors=tensors,
    )


def _read_metadata(reader: _Reader, kv_count: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for index in range(kv_count):
        reader.what = f"metadata entry {index + 1} of {kv_count}"
        key = reader.name(MAX_KEY_BYTES, "a metadata key")
        reader.what = f"metadata entry {index + 1} of {kv_count} ({key!r})"
        if key in metadata:
            raise _Corrupt(f"the metadata key {key!r} appears twice")
        value_type = reader.u32()
        if value_type not in _VALUE_TYPE_NAMES:
            raise _Corrupt(f"metadata {key!r} has unknown value type {value_type}")
        metadata[key] = reader.value(value_type)
    return metadata


def _read_tensor_infos(reader: _Reader, tensor_count: int) -> list[TensorInfo]:
    tensors: list[TensorInfo] = []
    seen: set[str] = set()
    for index in range(tensor_count):
        reader.what = f"tensor info {index + 1} of {tensor_count}"
        name = reader.name(MAX_TENSOR_NAME_BYTES, "a tensor name")
        reader.what = f"tensor info {index + 1} of {tensor_count} ({name!r})"
        if name in seen:
            raise _Corrupt(f"the tensor {name!r} appears twice")
        seen.add(name)
        n_dims = reader.u32()
        if n_dims > MAX_DIMS:
            raise _Corrupt(f"tensor {name!r} has {n_dims} dimensions (at most {MAX_DIMS} are possible)")
        shape = tuple(reader.u64() for _ in range(n_dims))
        ggml_type = reader.u32()
        offset = reader.u64()
        tensors.append(TensorInfo(name, shape, ggml_type, offset, _tensor_nbytes(name, shape, ggml_type)))
    return tensors


def _tensor_nbytes(name: str, shape: tuple[int, ...], ggml_type: int) -> int:
    try:
        from gguf.constants import (  # gguf brings numpy: loaded when used
            GGML_QUANT_SIZES,
            GGMLQuantizationType,
        )

        block_size, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        raise _UnknownTensorType(name, ggml_type) from None
    n_elements = 1
    for dim in shape:
        if dim > 1 << 62:
            raise _Corrupt(f"tensor {name!r} has an impossible dimension {dim:,}")
        n_elements *= dim
    if n_elements > 1 << 62:
        raise _Corrupt(f"tensor {name!r} has an impossible shape {shape}")
    if shape and shape[0] % block_size:
        raise _Corrupt(f"tensor {name!r} has rows of {shape[0]} values, not a multiple of the {ggml_type_name(ggml_type)} block size {block_size}")
    return n_elements // block_size * type_size


def _alignment(metadata: dict[str, Any]) -> int:
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0 or alignment & (alignment - 1):
        raise _Corrupt(f"general.alignment is {alignment!r}, not a power of two")
    return alignment


def _align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def _check_tensor_layout(info: GGUFInfo, *, check_data: bool) -> None:
    """Tensors must be aligned, must not overlap and (with check_data) must lie inside the file."""
    alignment = _alignment(info.metadata)
    end = 0
    for tensor in sorted(info.tensors, key=lambda t: t.offset):
        if tensor.offset % alignment:
            raise ModelLoadError(
                f"{info.path} is corrupt: tensor {tensor.name!r} starts at offset {tensor.offset:,}, "
                f"not a multiple of the alignment {alignment}. {_REDOWNLOAD.capitalize()}."
            )
        if tensor.offset < end:
            raise ModelLoadError(
                f"{info.path} is corrupt: tensor {tensor.name!r} overlaps the tensor before it. {_REDOWNLOAD.capitalize()}."
            )
        end = tensor.offset + tensor.nbytes
    needed = info.data_offset + end
    if check_data and needed > info.file_size:
        percent = info.file_size / needed * 100
        raise ModelLoadError(
            f"{info.path} is incomplete: its tensors need {needed:,} bytes but the file has only "
            f"{info.file_size:,} ({percent:.1f}%). The download was interrupted; {_REDOWNLOAD}."
        )
