"""Finding the files to index under a set of folders, and saying why each other file was left out.

``scan`` never raises for a bad file or folder: everything it meets comes out either as a
``FileCandidate`` (worth parsing) or a ``SkippedFile`` with a human reason. It follows symbolic links
but visits every real folder and file once, so link loops end.

Ignore rules are gitignore-style (pathspec): a built-in list (VCS folders, dependency folders,
caches, lock and temp files), the caller's patterns, and the ``.gitignore`` and ``.nookignore`` at
the top of each root. Patterns are matched relative to the root being scanned.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from engine.units import format_bytes
from knowledge.encoding import SNIFF_BYTES, binary_reason
from knowledge.filetypes import TEXT_KINDS, kind_for_path, unsupported_reason

DEFAULT_MAX_BYTES = 50 * 1024 * 1024

DEFAULT_EXCLUDES = (
    ".git/",
    ".hg/",
    ".svn/",
    "node_modules/",
    "bower_components/",
    "__pycache__/",
    ".venv/",
    "venv/",
    ".tox/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    "*.egg-info/",
    "site-packages/",
    "$RECYCLE.BIN/",
    "System Volume Information/",
    "*.lock",
    "package-lock.json",
    "*.min.js",
    "*.min.css",
    "*.map",
    "~$*",  # Office owner/lock files next to an open document
    "*.tmp",
    "*.swp",
    "*~",
    ".DS_Store",
    "Thumbs.db",
    "desktop.ini",
)
IGNORE_FILES = (".gitignore", ".nookignore")

_FILE_ATTRIBUTE_HIDDEN = 0x2  # Windows


@dataclass(frozen=True, slots=True)
class FileCandidate:
    """A file worth parsing: what it is and the stat data the indexer compares on the next scan."""

    path: Path
    size: int
    mtime_ns: int
    kind: str


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file or folder left out, and why, in words a user understands."""

    path: Path
    reason: str


ScanResult = FileCandidate | SkippedFile


def scan(
    roots: Iterable[Path | str],
    *,
    exclude: Iterable[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    include_hidden: bool = False,
) -> Iterator[ScanResult]:
    """Walk ``roots`` (folders or single files) and yield one result per file or skipped folder.

    Hidden entries and ignore rules apply inside folders only: a file given as a root is taken as
    the user's explicit choice, and only its type, size and content are checked.
    """
    walker = _Walker(list(exclude), max_bytes, include_hidden)
    for root in roots:
        yield from walker.scan_root(Path(root).expanduser().absolute())


class _Rules:
    """The ignore rules of one root, each set kept apart so the reason can name its source."""

    def __init__(self, root: Path, user_patterns: list[str]) -> None:
        self.sets: list[tuple[str, pathspec.GitIgnoreSpec]] = [
            ("excluded by a built-in rule", pathspec.GitIgnoreSpec.from_lines(DEFAULT_EXCLUDES)),
        ]
        if user_patterns:
            self.sets.append(
                ("excluded by your ignore patterns", pathspec.GitIgnoreSpec.from_lines(user_patterns))
            )
        for name in IGNORE_FILES:
            lines = _read_ignore_file(root / name)
            if lines:
                self.sets.append((f"excluded by {name}", pathspec.GitIgnoreSpec.from_lines(lines)))

    def reason(self, relative: str) -> str | None:
        for reason, spec in self.sets:
            if spec.match_file(relative):
                return reason
        return None


def _read_ignore_file(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


class _Walker:
    def __init__(self, exclude: list[str], max_bytes: int, include_hidden: bool) -> None:
        self.exclude = exclude
        self.max_bytes = max_bytes
        self.include_hidden = include_hidden
        self.seen_dirs: set[tuple[int, int]] = set()
        self.seen_files: set[tuple[int, int]] = set()

    def scan_root(self, root: Path) -> Iterator[ScanResult]:
        try:
            info = root.stat()
        except OSError as exc:
            yield SkippedFile(root, _os_error_reason(exc))
            return
        if stat.S_ISDIR(info.st_mode):
            yield from self._walk(root, info)
        else:
            yield self._check_file(root, info)

    def _walk(self, root: Path, root_info: os.stat_result) -> Iterator[ScanResult]:
        rules = _Rules(root, self.exclude)
        root_key = (root_info.st_dev, root_info.st_ino)
        if root_key in self.seen_dirs:
            yield SkippedFile(root, "folder already scanned")
            return
        self.seen_dirs.add(root_key)
        # Depth-first, entries sorted by name, so results come in a stable order. A stack of open
        # listings rather than recursion: deep trees cannot hit the recursion limit. Each folder
        # carries the identities of its ancestors: meeting one again through a link is a loop.
        stack = [(iter(self._list(root)), "", frozenset({root_key}))]
        while stack:
            entries, relative, ancestors = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            if isinstance(entry, SkippedFile):
                yield entry
                continue
            path = Path(entry.path)
            result = self._visit(entry, path, f"{relative}{entry.name}", rules, ancestors)
            if isinstance(result, tuple):
                folder, rel, inner = result
                stack.append((iter(self._list(folder)), rel, inner))
            elif result is not None:
                yield result

    @staticmethod
    def _list(folder: Path) -> list[os.DirEntry | SkippedFile]:
        """The folder's entries sorted by name, or a SkippedFile saying why it cannot be listed."""
        try:
            with os.scandir(folder) as listing:
                return sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            return [SkippedFile(folder, _os_error_reason(exc))]

    def _visit(self, entry: os.DirEntry, path: Path, rel: str, rules: _Rules, ancestors):
        """A result for a file, a ``(path, rel, ancestors)`` tuple for a folder to enter, or None."""
        if not self.include_hidden and entry.name.startswith("."):
            return SkippedFile(path, "hidden")
        try:
            info = entry.stat()  # follows links; an error here is a broken link or a loop
        except OSError as exc:
            if entry.is_symlink():
                return SkippedFile(path, _link_error_reason(exc))
            return SkippedFile(path, _os_error_reason(exc))
        is_dir = stat.S_ISDIR(info.st_mode)
        if not self.include_hidden and getattr(info, "st_file_attributes", 0) & _FILE_ATTRIBUTE_HIDDEN:
            return SkippedFile(path, "hidden")
        reason = rules.reason(rel + "/" if is_dir else rel)
        if reason:
            return SkippedFile(path, reason)
        if not is_dir:
            return self._check_file(path, info)
        key = (info.st_dev, info.st_ino)
        if key in ancestors:
            return SkippedFile(path, "symlink loop (links back to a folder above it)")
        if key in self.seen_dirs:
            return SkippedFile(path, "folder already scanned through another path")
        self.seen_dirs.add(key)
        return (path, rel + "/", ancestors | {key})

    def _check_file(self, path: Path, info: os.stat_result) -> ScanResult:
        if not stat.S_ISREG(info.st_mode):
            return SkippedFile(path, "not a regular file")
        kind = kind_for_path(path)
        if kind is None:
            return SkippedFile(path, unsupported_reason(path))
        key = (info.st_dev, info.st_ino)
        if key in self.seen_files:
            return SkippedFile(path, "same file already scanned through another path")
        self.seen_files.add(key)
        if info.st_size == 0:
            return SkippedFile(path, "empty file")
        if info.st_size > self.max_bytes:
            cap, size = format_bytes(self.max_bytes), format_bytes(info.st_size)
            return SkippedFile(path, f"larger than the {cap} size cap ({size})")
        try:
            with open(path, "rb") as handle:
                head = handle.read(SNIFF_BYTES)
        except OSError as exc:
            return SkippedFile(path, _os_error_reason(exc))
        if kind in TEXT_KINDS and (reason := binary_reason(head)):
            return SkippedFile(path, reason)
        return FileCandidate(path, info.st_size, info.st_mtime_ns, kind)


def _link_error_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if isinstance(exc, FileNotFoundError):
        return "broken symlink (its target does not exist)"
    return _os_error_reason(exc)


def _os_error_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "not found"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return f"cannot read ({exc.strerror or exc})"
