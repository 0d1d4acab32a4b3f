"""engine.models.gguf against the real SmolLM2 file and broken copies made from its bytes."""

from __future__ import annotations

import dataclasses
import json
import random
import struct
import time
import zipfile
from pathlib import Path

import pytest

from engine.errors import ModelLoadError, ModelNotFoundError, UnsupportedArchitectureError
from engine.models.gguf import read_gguf
from engine.models.gguf_info import (
    KNOWN_ARCHITECTURES,
    ArraySummary,
    GGUFInfo,
    TensorInfo,
    check_architecture_supported,
)

FIRST_KEY_LENGTH_AT = 24  # magic (4) + version (4) + tensor count (8) + KV count (8)


@pytest.fixture(scope="module")
def info(smollm2_path: Path) -> GGUFInfo:
    return read_gguf(smollm2_path)


@pytest.fixture(scope="module")
def header(smollm2_path: Path, info: GGUFInfo) -> bytes:
    """The real file's bytes up to the start of the tensor data."""
    with smollm2_path.open("rb") as file:
        return file.read(info.data_offset)


def write(tmp_path: Path, data: bytes, name: str = "model.gguf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def patched(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def find(data: bytes, needle: bytes) -> int:
    at = data.find(needle)
    assert at >= 0, f"{needle!r} not in the header"
    return at


def tensor_record_end(header: bytes, tensor: TensorInfo) -> int:
    """Where the type field of ``tensor``'s entry in the tensor table starts."""
    record = gguf_string(tensor.name) + struct.pack(
        f"<I{len(tensor.shape)}Q", len(tensor.shape), *tensor.shape
    )
    return find(header, record) + len(record)


def expect_load_error(path: Path, *phrases: str, check_data: bool = True) -> str:
    with pytest.raises(ModelLoadError) as caught:
        read_gguf(path, check_data=check_data)
    message = str(caught.value)
    assert str(path) in message
    for phrase in phrases:
        assert phrase in message, message
    return message


# -- the real file --------------------------------------------------------------------------------


def test_reads_smollm2_metadata(info: GGUFInfo, smollm2_path: Path) -> None:
    assert info.version == 3
    assert info.file_size == smollm2_path.stat().st_size
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.block_count == 30
    assert info.embedding_length == 576
    assert info.head_count == 9
    assert info.head_count_kv == 3
    assert info.context_length == 8192
    assert info.vocab_size == 49152
    assert info.chat_template is not None and "<|im_start|>" in info.chat_template
    assert not info.is_lora_adapter
    assert 130_000_000 < info.parameter_count < 140_000_000  # "135M"
    assert info.name and info.name != smollm2_path.stem


def test_tensor_table_covers_the_file_exactly(info: GGUFInfo) -> None:
    assert len(info.tensors) == 272
    assert info.data_offset % 32 == 0
    end = max(t.offset + t.nbytes for t in info.tensors)
    assert info.data_offset + end == info.file_size
    embed = next(t for t in info.tensors if t.name == "token_embd.weight")
    assert embed.shape == (576, 49152)
    assert embed.type_name == "Q8_0"
    assert embed.nbytes == 576 * 49152 // 32 * 34


def test_layer_sizes_add_up(info: GGUFInfo) -> None:
    layers = info.layer_bytes()
    assert len(layers) == 30
    assert len(set(layers)) == 1  # every block of this model has the same tensors
    assert sum(layers) + info.non_layer_bytes() == info.tensor_bytes
    # tied embeddings: no output.weight, so the output layer is a copy of token_embd plus the norm
    assert info.output_bytes() == info.non_layer_bytes()


def test_big_arrays_are_summarised(info: GGUFInfo) -> None:
    tokens = info.metadata["tokenizer.ggml.tokens"]
    assert tokens == ArraySummary(item_type=8, length=49152)
    assert info.metadata["tokenizer.ggml.merges"].length == 48900
    assert info.metadata["general.languages"] == ["en"]  # small arrays are kept


def test_summary_is_json(info: GGUFInfo) -> None:
    summary = json.loads(json.dumps(info.summary()))
    assert summary["quantization"] == "Q4_1"
    assert summary["type"] == "model"
    assert summary["metadata"]["tokenizer.ggml.tokens"] == {"array_of": "string", "length": 49152}
    assert summary["tensor_count"] == 272


def test_reading_the_header_is_fast(smollm2_path: Path, info: GGUFInfo) -> None:
    start = time.perf_counter()
    read_gguf(smollm2_path)
    assert time.perf_counter() - start < 1.0


def test_header_only_copy_needs_check_data_off(tmp_path: Path, header: bytes, info: GGUFInfo) -> None:
    path = write(tmp_path, header)
    copy = read_gguf(path, check_data=False)
    assert copy.tensors == info.tensors
    assert copy.metadata.keys() == info.metadata.keys()


# -- architectures --------------------------------------------------------------------------------


def test_known_architectures_come_from_llama_cpp() -> None:
    assert {"llama", "qwen2", "gemma3", "phi3", "mistral3", "smollm3", "gpt-oss"} <= KNOWN_ARCHITECTURES
    assert "clip" not in KNOWN_ARCHITECTURES and "(unknown)" not in KNOWN_ARCHITECTURES


def test_smollm2_architecture_is_supported(info: GGUFInfo) -> None:
    check_architecture_supported(info)


def test_unknown_architecture(tmp_path: Path, header: bytes) -> None:
    field = gguf_string("general.architecture") + struct.pack("<I", 8) + gguf_string("llama")
    at = find(header, field) + len(field) - len("llama")
    path = write(tmp_path, patched(header, at, b"zzzzz"))
    info = read_gguf(path, check_data=False)
    with pytest.raises(UnsupportedArchitectureError, match="'zzzzz' model.*does not know.*Update Inglenook"):
        check_architecture_supported(info)


def test_vision_projector_and_missing_architecture(info: GGUFInfo) -> None:
    clip = dataclasses.replace(info, metadata={**info.metadata, "general.architecture": "clip"})
    with pytest.raises(UnsupportedArchitectureError, match="vision projector"):
        check_architecture_supported(clip)
    bare = dataclasses.replace(
        info, metadata={k: v for k, v in info.metadata.items() if k != "general.architecture"}
    )
    with pytest.raises(UnsupportedArchitectureError, match="first part"):
        check_architecture_supported(bare)


# -- not a file, not a GGUF -------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        read_gguf(tmp_path / "nope.gguf")


def test_directory(tmp_path: Path, header: bytes) -> None:
    with pytest.raises(ModelLoadError, match="is a folder"):
        read_gguf(tmp_path)
    write(tmp_path, header, "inner.gguf")
    with pytest.raises(ModelLoadError, match="inner.gguf"):
        read_gguf(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    expect_load_error(write(tmp_path, b""), "empty (0 bytes)", "download it again")


def _zip_of(header: bytes) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("SmolLM2.gguf", header[:4096])
    return buffer.getvalue()


def _safetensors() -> bytes:
    meta = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return struct.pack("<Q", len(meta)) + meta + b"\0" * 8


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda h: b"<!DOCTYPE html>\n<html><body>Access denied</body></html>", "saved a web page"),
        (lambda h: b"\n  <html><head><title>404</title></head></html>", "saved a web page"),
        (_zip_of, "ZIP archive"),
        (lambda h: _safetensors(), "safetensors"),
        (
            lambda h: b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 98362432\n",
            "Git LFS pointer",
        ),
        (lambda h: b'{"error": "Repository not found"}', "JSON file"),
        (lambda h: b"tjgg" + h[4:4096], "old GGML/GGJT"),
        (lambda h: b"\x80\x02}q\x00" + h[8:4096], "pickle"),
        (lambda h: bytes(reversed(h[:4096])), "may be a different format"),
        (lambda h: h[:2], "may be a different format"),
    ],
)
def test_not_a_gguf(tmp_path: Path, header: bytes, make, phrase: str) -> None:
    data = make(header)
    message = expect_load_error(write(tmp_path, data), "is not a GGUF file", phrase)
    assert repr(data[:8]) in message  # shows the first bytes


# -- versions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "phrase"),
    [
        (struct.pack("<I", 1), "version 1"),
        (struct.pack("<I", 4), "GGUF version 4, newer than this app"),
        (struct.pack("<I", 0), "version is 0"),
        (struct.pack(">I", 3), "big-endian"),
    ],
)
def test_unsupported_version(tmp_path: Path, header: bytes, version: bytes, phrase: str) -> None:
    expect_load_error(write(tmp_path, patched(header, 4, version)), phrase)


# -- truncation -----------------------------------------------------------------------------------


def test_truncated_inside_metadata(tmp_path: Path, header: bytes) -> None:
    message = expect_load_error(
        write(tmp_path, header[:5000]), "cut off", "5,000 bytes", "metadata entry", "download it again"
    )
    assert "tokenizer.ggml.tokens" in message  # 5,000 bytes ends inside the vocabulary


def test_truncated_inside_tensor_table(tmp_path: Path, header: bytes) -> None:
    expect_load_error(
        write(tmp_path, header[: len(header) - 500]), "cut off", "tensor info", "download it again"
    )


def test_truncated_after_magic(tmp_path: Path, header: bytes) -> None:
    expect_load_error(write(tmp_path, header[:6]), "cut off")
    expect_load_error(write(tmp_path, header[:20]), "cut off", "counts")


def test_truncated_download(tmp_path: Path, smollm2_path: Path, info: GGUFInfo) -> None:
    with smollm2_path.open("rb") as file:
        half = file.read(info.file_size // 2)
    path = write(tmp_path, half)
    expect_load_error(
        path, "incomplete", f"{info.file_size:,} bytes", f"only {len(half):,}", "(50.0%)", "download it again"
    )
    assert read_gguf(path, check_data=False).tensors == info.tensors


def test_one_byte_short(tmp_path: Path, smollm2_path: Path) -> None:
    data = smollm2_path.read_bytes()[:-1]
    expect_load_error(write(tmp_path, data), "incomplete", "(100.0%)")


# -- corrupt fields -------------------------------------------------------------------------------


def test_absurd_string_length(tmp_path: Path, header: bytes) -> None:
    path = write(tmp_path, patched(header, FIRST_KEY_LENGTH_AT, struct.pack("<Q", 1 << 40)))
    expect_load_error(path, "is corrupt", "claims to be 1,099,511,627,776 bytes", "Download it again")


def _tokens_length_at(header: bytes) -> int:
    prefix = gguf_string("tokenizer.ggml.tokens") + struct.pack("<II", 9, 8)
    return find(header, prefix) + len(prefix)


def test_absurd_array_length(tmp_path: Path, header: bytes) -> None:
    path = write(tmp_path, patched(header, _tokens_length_at(header), struct.pack("<Q", 1 << 40)))
    expect_load_error(path, "is corrupt", "array claims", check_data=False)


def test_array_running_past_the_end(tmp_path: Path, header: bytes) -> None:
    prefix = gguf_string("tokenizer.ggml.token_type") + struct.pack("<II", 9, 5)  # int32 items
    at = find(header, prefix) + len(prefix)
    path = write(tmp_path, patched(header, at, struct.pack("<Q", 10_000_000)))  # 40 MB of int32
    expect_load_error(path, "cut off", "tokenizer.ggml.token_type", check_data=False)


def test_array_reading_into_garbage(tmp_path: Path, header: bytes) -> None:
    # 10M strings: after the real 49,152 the reader takes the next array's bytes as string lengths
    path = write(tmp_path, patched(header, _tokens_length_at(header), struct.pack("<Q", 10_000_000)))
    expect_load_error(path, "is corrupt", "claims to be", check_data=False)


def test_absurd_counts(tmp_path: Path, header: bytes) -> None:
    path = write(tmp_path, patched(header, 8, struct.pack("<Q", 1 << 60)))
    expect_load_error(path, "is corrupt", "1,152,921,504,606,846,976 tensors")


def test_unknown_value_type(tmp_path: Path, header: bytes) -> None:
    key_length = struct.unpack_from("<Q", header, FIRST_KEY_LENGTH_AT)[0]
    at = FIRST_KEY_LENGTH_AT + 8 + key_length
    expect_load_error(
        write(tmp_path, patched(header, at, struct.pack("<I", 99))), "is corrupt", "unknown value type 99"
    )


def test_key_not_utf8(tmp_path: Path, header: bytes) -> None:
    path = write(tmp_path, patched(header, FIRST_KEY_LENGTH_AT + 8, b"\xff\xfe"))
    expect_load_error(path, "is corrupt", "not valid UTF-8")


def test_unknown_tensor_type(tmp_path: Path, header: bytes, info: GGUFInfo) -> None:
    tensor = info.tensors[5]
    path = write(tmp_path, patched(header, tensor_record_end(header, tensor), struct.pack("<I", 200)))
    expect_load_error(path, f"{tensor.name!r} in ggml type 200", "newer llama.cpp", check_data=False)


def test_too_many_dimensions(tmp_path: Path, header: bytes, info: GGUFInfo) -> None:
    tensor = info.tensors[5]
    at = find(header, gguf_string(tensor.name)) + len(gguf_string(tensor.name))
    path = write(tmp_path, patched(header, at, struct.pack("<I", 9)))
    expect_load_error(path, "is corrupt", "9 dimensions", check_data=False)


def test_misaligned_tensor(tmp_path: Path, header: bytes, info: GGUFInfo) -> None:
    tensor = info.tensors[5]
    at = tensor_record_end(header, tensor) + 4
    path = write(tmp_path, patched(header, at, struct.pack("<Q", tensor.offset + 1)))
    expect_load_error(path, "is corrupt", repr(tensor.name), "alignment 32", check_data=False)


def test_overlapping_tensors(tmp_path: Path, header: bytes, info: GGUFInfo) -> None:
    tensor = info.tensors[5]
    at = tensor_record_end(header, tensor) + 4
    path = write(tmp_path, patched(header, at, struct.pack("<Q", info.tensors[4].offset)))
    expect_load_error(path, "is corrupt", "overlaps", check_data=False)


def test_deeply_nested_arrays(tmp_path: Path, header: bytes) -> None:
    """A header whose only value is an array of arrays of arrays... (garbage that would recurse)."""
    nested = struct.pack("<IQ", 9, 1) * 5000 + struct.pack("<IQ", 4, 0)
    body = header[:8] + struct.pack("<QQ", 0, 1) + gguf_string("general.deep") + struct.pack("<I", 9) + nested
    expect_load_error(write(tmp_path, body), "is corrupt", "nested more than 8 deep")


def test_random_damage_never_escapes_as_another_error(tmp_path: Path, header: bytes) -> None:
    """Whatever bytes get damaged, the reader either copes or raises ModelLoadError."""
    rng = random.Random(1234)
    # damage the counts, the first KV pairs and the tensor table, where every byte matters
    regions = [(8, 2000), (len(header) - 20_000, len(header))]
    for case in range(40):
        data = bytearray(header)
        start, end = regions[case % 2]
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(start, end)] = rng.randrange(256)
        path = write(tmp_path, bytes(data), f"damaged{case}.gguf")
        try:
            read_gguf(path, check_data=False)
        except ModelLoadError:
            pass
