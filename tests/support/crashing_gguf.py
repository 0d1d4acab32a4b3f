"""A GGUF that passes Inglenook's header checks but makes llama.cpp abort while loading.

Made from the real SmolLM2 file by adding one metadata entry, ``llama.expert_used_count = 2``, to a
model that has no experts. Our checks (``engine.models.gguf``) do not look at expert counts, and
nothing about the layout changes (tensor offsets are relative to the data section), so the file
reads as healthy; llama.cpp's ``GGML_ASSERT(hparams.n_expert_used == 0)`` for a model without
experts then aborts the process (SIGABRT) in the middle of ``llama_model_load``. Tried as well:
``llama.expert_count = 100000`` (aborts too, on ``n_expert <= LLAMA_MAX_EXPERTS``).
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import gguf

_UINT32 = 4  # GGUF value type


def _entry_u32(key: str, value: int) -> bytes:
    name = key.encode("utf-8")
    return struct.pack("<Q", len(name)) + name + struct.pack("<II", _UINT32, value)


def with_extra_metadata(source: Path, dest: Path, key: str, value: int) -> Path:
    """Copy ``source`` to ``dest`` with one more u32 metadata entry; the tensor data is copied unchanged."""
    reader = gguf.GGUFReader(source)
    kv_end = reader.tensors[0].field.offset  # the tensor table follows the metadata
    last = reader.tensors[-1].field
    table_end = last.offset + sum(part.nbytes for part in last.parts)
    data_start = reader.data_offset
    alignment = reader.alignment
    del reader  # let go of its memory map
    with source.open("rb") as src:
        head = src.read(data_start)
        tensor_count, kv_count = struct.unpack("<QQ", head[8:24])
        header = (head[:8] + struct.pack("<QQ", tensor_count, kv_count + 1) + head[24:kv_end]
                  + _entry_u32(key, value) + head[kv_end:table_end])
        header += b"\0" * (-len(header) % alignment)
        with dest.open("wb") as out:
            out.write(header)
            shutil.copyfileobj(src, out, 1 << 20)  # src is at data_start: the tensor data as is
    return dest


def crashing_gguf(source: Path, dest: Path) -> Path:
    """SmolLM2 with ``llama.expert_used_count = 2``: passes ``read_gguf``, aborts llama.cpp's loader."""
    return with_extra_metadata(source, dest, "llama.expert_used_count", 2)
