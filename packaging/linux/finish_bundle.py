"""Finish a PyInstaller one-folder bundle on Linux (called by scripts/package.sh):

- llama_cpp/lib: the wheel holds each library three times (libX.so, libX.so.0, libX.so.0.y.z, as
  files: wheels cannot hold links); keep the versioned file and make the other two symlinks to it,
  so every name loads the same single copy (one ggml instance, ~10 MB less);
- check that the portable CPU backend variants and libllama are where engine.llama_native finds them;
- strip symbol tables that wheels left in (``strip --strip-unneeded``: libpython, pyarrow, ...);
- print the ten largest parts, so a size regression is visible in the build log.

    python packaging/linux/finish_bundle.py BUNDLE_DIR
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"


def dedupe_llama_libs(lib: Path) -> int:
    saved = 0
    files = sorted((p for p in lib.iterdir() if p.is_file() and not p.is_symlink()), key=lambda p: -len(p.name))
    by_stem: dict[str, Path] = {}
    for path in files:  # longest name first: libggml.so.0.25.3 before libggml.so.0 and libggml.so
        stem = path.name.split(".so")[0]
        keep = by_stem.setdefault(stem, path)
        if keep is path or not filecmp.cmp(keep, path, shallow=False):
            continue
        saved += path.stat().st_size
        path.unlink()
        path.symlink_to(keep.name)
    return saved


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == ELF_MAGIC
    except OSError:
        return False


def _loads_aligned(path: Path) -> bool:
    """Every PT_LOAD has offset = address modulo its alignment (what the dynamic loader insists on)."""
    out = subprocess.run(["readelf", "-l", "-W", str(path)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts[:1] == ["LOAD"] and len(parts) >= 8:
            offset, vaddr, align = int(parts[1], 16), int(parts[2], 16), int(parts[-1], 16)
            if align > 1 and offset % align != vaddr % align:
                return False
    return True


def _dlopens(path: Path) -> bool:
    code = "import ctypes, os, sys; ctypes.CDLL(sys.argv[1], mode=os.RTLD_LAZY | os.RTLD_LOCAL)"
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True).returncode == 0


def strip_binaries(root: Path) -> int:
    """Strip symbol tables, except from libraries that auditwheel/patchelf rewrote (strip corrupts
    those: "ELF load command address/offset not page-aligned"); each result is checked and reverted
    when the loader would refuse it."""
    strip = shutil.which("strip")
    if strip is None or shutil.which("readelf") is None:
        print("finish_bundle: no `strip`/`readelf` here; symbol tables stay", file=sys.stderr)
        return 0
    saved = 0
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file() or not is_elf(path) or path.stat().st_size < 256 * 1024:
            continue
        if path.parent == root:
            continue  # the executable: PyInstaller appended its archive to the ELF, strip would cut it off
        if any(part.endswith(".libs") for part in path.parts):
            continue  # libraries grafted in by auditwheel (patchelf'd)
        dynamic = subprocess.run(["readelf", "-d", "-S", "-W", str(path)], capture_output=True, text=True).stdout
        if ".symtab" not in dynamic or ".libs" in dynamic:
            continue  # nothing to strip, or an extension module patchelf pointed at a .libs folder
        backup = path.with_name(path.name + ".unstripped")
        shutil.copy2(path, backup)
        before = path.stat().st_size
        result = subprocess.run([strip, "--strip-unneeded", str(path)], capture_output=True, text=True)
        ok = result.returncode == 0 and _loads_aligned(path)
        if ok and path.suffix != "" and ".so" in path.name and _dlopens(backup) and not _dlopens(path):
            ok = False
        if not ok:
            backup.replace(path)
            print(f"finish_bundle: left {path.relative_to(root)} unstripped", file=sys.stderr)
            continue
        backup.unlink()
        saved += before - path.stat().st_size
    return saved


def check_runtime(internal: Path) -> None:
    lib = internal / "llama_cpp" / "lib"
    variants = sorted(p.name for p in lib.glob("libggml-cpu-*.so"))
    missing = [name for name in ("libllama.so", "libggml.so.0", "libggml-base.so.0") if not (lib / name).exists()]
    if missing or not variants:
        sys.exit(f"finish_bundle: {lib} lacks {missing or 'the CPU backend variants (libggml-cpu-*.so)'}")
    print(f"finish_bundle: llama.cpp runtime with {len(variants)} CPU variants in {lib}", file=sys.stderr)


def du(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(bundle_dir: str) -> int:
    bundle = Path(bundle_dir)
    internal = bundle / "_internal"
    saved = dedupe_llama_libs(internal / "llama_cpp" / "lib")
    check_runtime(internal)
    saved_strip = strip_binaries(bundle)
    print(f"finish_bundle: {saved / 2**20:.1f} MB saved by linking duplicate libraries, "
          f"{saved_strip / 2**20:.1f} MB by stripping symbol tables", file=sys.stderr)
    parts = sorted(((du(p), p.name) for p in internal.iterdir()), reverse=True)[:10]
    total = du(bundle)
    print(f"finish_bundle: {total / 2**20:.0f} MB in all; largest: "
          + ", ".join(f"{name} {size / 2**20:.0f}" for size, name in parts), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
