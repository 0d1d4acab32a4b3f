"""scan(): what is found, what is skipped and why, and that nothing it meets stops it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from knowledge import scanning
from knowledge.parsing import parse_file_safe
from knowledge.scanning import DEFAULT_MAX_BYTES, FileCandidate, SkippedFile, scan
from tests.support.broken_corpus import EXPECTED, build_broken_corpus, write_big_text


def _by_name(results) -> dict[str, FileCandidate | SkippedFile]:
    return {result.path.name: result for result in results}


def _reason(results, name: str) -> str:
    result = _by_name(results)[name]
    assert isinstance(result, SkippedFile), f"{name} was not skipped: {result}"
    return result.reason


def test_finds_supported_files_with_kind_size_and_mtime(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("# Notes\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "sub" / "main.py").write_text("def f():\n    return 1\n")
    (tmp_path / "README").write_text("Read me")

    results = list(scan([tmp_path]))

    found = {r.path.relative_to(tmp_path).as_posix(): r for r in results if isinstance(r, FileCandidate)}
    assert {path: r.kind for path, r in found.items()} == {
        "notes.md": "markdown",
        "sub/data.csv": "csv",
        "sub/main.py": "code",
        "README": "text",
    }
    notes = found["notes.md"]
    info = (tmp_path / "notes.md").stat()
    assert (notes.size, notes.mtime_ns) == (info.st_size, info.st_mtime_ns)


def test_results_come_in_a_stable_sorted_order(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "c.txt"):
        (tmp_path / name).write_text(name)
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "a_dir" / "z.txt").write_text("z")

    names = [r.path.relative_to(tmp_path).as_posix() for r in scan([tmp_path])]

    assert names == ["a.txt", "a_dir/z.txt", "b.txt", "c.txt"]


def test_hidden_files_and_folders_are_skipped_unless_asked_for(tmp_path: Path) -> None:
    (tmp_path / ".secret.txt").write_text("hidden")
    (tmp_path / ".config").mkdir()
    (tmp_path / ".config" / "inner.txt").write_text("inside a hidden folder")
    (tmp_path / "visible.txt").write_text("shown")

    default = list(scan([tmp_path]))
    assert _reason(default, ".secret.txt") == "hidden"
    assert _reason(default, ".config") == "hidden"
    assert "inner.txt" not in _by_name(default)

    everything = _by_name(scan([tmp_path], include_hidden=True))
    assert isinstance(everything["inner.txt"], FileCandidate)
    assert isinstance(everything[".secret.txt"], FileCandidate)


def test_built_in_user_and_ignore_file_rules_each_name_their_source(tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    (tmp_path / "node_modules" / "pkg" / "index.js").write_text("module.exports = 1")
    (tmp_path / "poetry.lock").write_text("lock")
    (tmp_path / "~$report.docx").write_bytes(b"owner file")
    (tmp_path / "drafts").mkdir()
    (tmp_path / "drafts" / "draft.md").write_text("draft")
    (tmp_path / "build.log").write_text("log")
    (tmp_path / "keep.log").write_text("keep")
    (tmp_path / "private.txt").write_text("private")
    (tmp_path / ".gitignore").write_text("*.log\n!keep.log\n")
    (tmp_path / ".nookignore").write_text("private.txt\n")

    results = list(scan([tmp_path], exclude=["drafts/"]))

    assert _reason(results, "node_modules") == "excluded by a built-in rule"
    assert _reason(results, "poetry.lock") == "excluded by a built-in rule"
    assert _reason(results, "~$report.docx") == "excluded by a built-in rule"
    assert _reason(results, "drafts") == "excluded by your ignore patterns"
    assert _reason(results, "build.log") == "excluded by .gitignore"
    assert _reason(results, "private.txt") == "excluded by .nookignore"
    assert isinstance(_by_name(results)["keep.log"], FileCandidate)
    assert not any(r.path.name == "index.js" for r in results)


def test_ignore_patterns_are_relative_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.txt").write_text("generated")
    (tmp_path / "docs" / "build").mkdir(parents=True)
    (tmp_path / "docs" / "build" / "plan.txt").write_text("a building plan")

    results = list(scan([tmp_path], exclude=["/build/"]))

    assert _reason(results, "build") == "excluded by your ignore patterns"
    assert isinstance(_by_name(results)["plan.txt"], FileCandidate)


def test_a_file_given_as_root_is_taken_even_if_hidden_or_excluded(tmp_path: Path) -> None:
    hidden = tmp_path / ".notes.txt"
    hidden.write_text("chosen explicitly")

    (result,) = scan([hidden], exclude=["*.txt"])

    assert isinstance(result, FileCandidate) and result.kind == "text"


def test_missing_root_is_reported_not_raised(tmp_path: Path) -> None:
    (result,) = scan([tmp_path / "nowhere"])
    assert result == SkippedFile(tmp_path / "nowhere", "not found")


def test_unsupported_types_get_specific_advice(tmp_path: Path) -> None:
    for name in ("old.doc", "sheet.xlsx", "scan.png", "archive.xyz", "noextension"):
        (tmp_path / name).write_bytes(b"x")

    results = list(scan([tmp_path]))

    assert _reason(results, "old.doc") == "old Word format (.doc) is not supported; save it as .docx"
    assert "export the sheet as CSV" in _reason(results, "sheet.xlsx")
    assert _reason(results, "scan.png") == "image file; OCR is not supported yet"
    assert _reason(results, "archive.xyz") == "unsupported file type (.xyz)"
    assert _reason(results, "noextension") == "unsupported file type (no extension)"


def test_binary_content_behind_a_text_extension_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "nul.txt").write_bytes(b"abc\x00def" * 10)
    (tmp_path / "zip.md").write_bytes(b"PK\x03\x04" + bytes(50))
    (tmp_path / "model.json").write_bytes(b"GGUF" + bytes(50))

    results = list(scan([tmp_path]))

    assert _reason(results, "nul.txt") == "binary file (contains NUL bytes)"
    assert _reason(results, "zip.md") == "binary file (zip archive)"
    assert _reason(results, "model.json") == "binary file (GGUF model)"


def test_utf16_text_is_not_mistaken_for_binary(tmp_path: Path) -> None:
    """UTF-16 text is full of NUL bytes; a BOM or the one-parity pattern marks it as text."""
    (tmp_path / "bom_le.txt").write_bytes("Hello 世界\n".encode("utf-16"))
    (tmp_path / "bom_be.txt").write_bytes(b"\xfe\xff" + "Hello 世界\n".encode("utf-16-be"))
    (tmp_path / "nobom.txt").write_bytes("Plain ASCII words in UTF-16.\n".encode("utf-16-le") * 3)
    (tmp_path / "utf32.txt").write_bytes("UTF-32 text".encode("utf-32"))

    results = _by_name(scan([tmp_path]))

    assert all(isinstance(r, FileCandidate) for r in results.values()), results


def test_size_cap_reason_says_both_sizes(tmp_path: Path) -> None:
    (tmp_path / "small.txt").write_text("x" * 100)
    (tmp_path / "large.txt").write_text("x" * 3000)

    results = list(scan([tmp_path], max_bytes=2048))

    assert _reason(results, "large.txt") == "larger than the 2.0 KiB size cap (2.9 KiB)"
    assert isinstance(_by_name(results)["small.txt"], FileCandidate)


def test_a_50_mb_text_file_is_skipped_by_the_default_cap(tmp_path: Path) -> None:
    big = write_big_text(tmp_path / "big.txt", 52 * 1024 * 1024)

    results = list(scan([tmp_path]))

    assert DEFAULT_MAX_BYTES == 50 * 1024 * 1024
    assert _reason(results, "big.txt") == "larger than the 50.0 MiB size cap (52.0 MiB)"
    (raised,) = scan([big], max_bytes=64 * 1024 * 1024)
    assert isinstance(raised, FileCandidate) and raised.size == 52 * 1024 * 1024


def test_symlink_loops_end_and_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "doc.txt").write_text("text")
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "up")  # back to an ancestor
    os.symlink(tmp_path / "self.txt", tmp_path / "self.txt")  # to itself
    os.symlink(tmp_path / "missing.txt", tmp_path / "dangling.txt")

    results = list(scan([tmp_path]))

    assert _reason(results, "up") == "symlink loop (links back to a folder above it)"
    assert _reason(results, "self.txt") == "symlink loop"
    assert _reason(results, "dangling.txt") == "broken symlink (its target does not exist)"
    assert [r.path.name for r in results if isinstance(r, FileCandidate)] == ["doc.txt"]


def test_files_and_folders_reached_twice_are_scanned_once(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "doc.txt").write_text("text")
    os.symlink(tmp_path / "real", tmp_path / "via_link")
    os.symlink(tmp_path / "real" / "doc.txt", tmp_path / "z_alias.txt")

    results = list(scan([tmp_path, tmp_path / "real"]))

    candidates = [r for r in results if isinstance(r, FileCandidate)]
    assert [c.path for c in candidates] == [tmp_path / "real" / "doc.txt"]
    assert _reason(results, "via_link") == "folder already scanned through another path"
    assert _reason(results, "z_alias.txt") == "same file already scanned through another path"
    assert SkippedFile(tmp_path / "real", "folder already scanned") in results


def test_special_files_are_not_opened(tmp_path: Path) -> None:
    """A FIFO named .txt would block forever if opened; it must be skipped from its stat alone."""
    os.mkfifo(tmp_path / "pipe.txt")
    (result,) = scan([tmp_path])
    assert result == SkippedFile(tmp_path / "pipe.txt", "not a regular file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permission bits")
def test_unreadable_file_and_folder_are_reported(tmp_path: Path) -> None:
    locked_file = tmp_path / "locked.txt"
    locked_file.write_text("secret")
    locked_dir = tmp_path / "locked_dir"
    locked_dir.mkdir()
    (locked_dir / "inside.txt").write_text("secret")
    locked_file.chmod(0)
    locked_dir.chmod(0)
    try:
        results = list(scan([tmp_path]))
        parsed = parse_file_safe(locked_file)
    finally:
        locked_file.chmod(0o644)
        locked_dir.chmod(0o755)

    assert _reason(results, "locked.txt") == "permission denied"
    assert _reason(results, "locked_dir") == "permission denied"
    assert parsed == SkippedFile(locked_file, "permission denied")


def test_permission_errors_are_reported_not_raised(tmp_path: Path, monkeypatch) -> None:
    """The same paths as above, with the errors raised where the OS would raise them (runs as root too)."""
    (tmp_path / "locked.txt").write_text("secret")
    (tmp_path / "open.txt").write_text("fine")
    (tmp_path / "locked_dir").mkdir()
    (tmp_path / "locked_dir" / "inside.txt").write_text("secret")
    real_open, real_scandir = open, os.scandir

    def guarded_open(path, *args, **kwargs):
        if Path(path).name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def guarded_scandir(path):
        if Path(path).name == "locked_dir":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(scanning, "open", guarded_open, raising=False)
    monkeypatch.setattr(scanning.os, "scandir", guarded_scandir)

    results = list(scan([tmp_path]))

    assert _reason(results, "locked.txt") == "permission denied"
    assert _reason(results, "locked_dir") == "permission denied"
    assert isinstance(_by_name(results)["open.txt"], FileCandidate)


def test_broken_corpus_scan_accounts_for_every_entry(tmp_path: Path) -> None:
    corpus = build_broken_corpus(tmp_path / "corpus")

    results = list(scan([corpus]))

    names = [r.path.name for r in results]
    assert len(names) == len(set(names)), "an entry was reported twice"
    assert set(names) == {entry.name for entry in corpus.iterdir()}
    by_name = _by_name(results)
    for name, (outcome, fragment) in EXPECTED.items():
        result = by_name[name]
        if outcome == "scan":
            assert isinstance(result, SkippedFile) and fragment in result.reason, (name, result)
        else:
            assert isinstance(result, FileCandidate), (name, result)
