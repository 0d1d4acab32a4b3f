"""The knowledge benchmarks, the chat benchmark and the API benchmark run end to end in their --quick mode and print their figure lines.

They use the real embedder and LanceDB, so they are slow (each well under a minute on an idle machine);
the figures themselves are not checked, only that every measurement was made and reported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, home: Path) -> str:
    env = {**os.environ, "INGLENOOK_HOME": str(home)}
    module = "benchmarks." + script.removesuffix(".py")
    proc = subprocess.run([sys.executable, "-m", module, "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


def test_eval_retrieval_quick(data_home):
    out = _run("eval_retrieval.py", data_home)
    for label in ("bm25-window", "shipped (hybrid)"):
        for lang in ("en", "zh"):
            assert re.search(rf"^eval .*{re.escape(label)}\s+{lang}\s+40 \|\s+[01]\.\d{{3}}", out, re.M), (label, lang)
    assert re.search(r"indexed defaults: \d+ chunks \(\d+ full-text only\)", out)
    assert "hybrid + rerank: not measured" in out


def test_bench_index_quick(data_home):
    out = _run("bench_index.py", data_home)
    assert re.search(r"^embedding only :\s+\d+\.\d passages/s", out, re.M)
    assert re.search(r"^end to end     :\s+\d+\.\d passages/s", out, re.M)
    assert re.search(r"^RATIO end-to-end / embedding-only: \d+\.\d\d", out, re.M)
    assert re.search(r"^REINDEX unchanged 200 files .*: \d+\.\d\d s", out, re.M)
    assert re.search(r"^CHINESE-ONLY folder, 60 files .* x\d+\.\d faster", out, re.M)


def test_bench_search_quick(data_home):
    out = _run("bench_search.py", data_home)
    assert re.search(r"^TABLE 5000 rows built from 300 distinct passages embedded for real", out, re.M)
    assert re.search(r"^ANN IVF_FLAT .* build +\d+\.\d s, recall@10 [01]\.\d{3}", out, re.M)
    for mode in ("vector", "fulltext", "hybrid"):
        assert re.search(rf"^  {mode}\s+p50\s+\d+\.\d ms\s+p95\s+\d+\.\d ms", out, re.M), mode
    assert "hybrid + rerank: not measured" in out


def test_bench_serve_quick(data_home):
    out = _run("bench_serve.py", data_home)
    assert re.search(r"^DECODE .*: direct \d+\.\d tok/s, API streaming \d+\.\d tok/s, RATIO \d\.\d{3}$", out, re.M)
    assert re.search(r"^TTFT .*: direct \d+\.\d ms, API \d+\.\d ms, OVERHEAD [+-]\d+\.\d ms$", out, re.M)
    for clients in (1, 4, 8):
        assert re.search(rf"^CONCURRENCY {clients} clients .*tok/s, .* p95 \d+ ms$", out, re.M), clients
    assert re.search(r"^JSON SCHEMA \(4 replies each\): with grammar 4/4 valid, without grammar \d/4 valid$", out, re.M)


def test_bench_decode_quick(data_home):
    out = _run("bench_decode.py", data_home)
    assert re.search(r"^decode   raw +\d+\.\d tok/s .* per token: \d+\.\d\d ms in llama.cpp's decode, \d\.\d{3} ms "
                     r"around it$", out, re.M)
    for path in ("in-process", "engine process"):
        assert re.search(rf"^decode   {path} +\d+\.\d tok/s   ratio, median of 2 rounds \d\.\d{{3}}", out, re.M), path
    ratios = re.findall(r"ratio at raw's decode time (\d\.\d{3})$", out, re.M)
    assert len(ratios) == 2 and all(0.5 < float(r) <= 1.5 for r in ratios), out
    arounds = re.findall(r"first token: \d+\.\d ms in llama.cpp, (-?\d+\.\d) ms around it", out)
    assert len(arounds) == 3, out  # raw, in-process, engine process: llama.cpp's share was measured
    assert re.search(r"^TTFT     first turn .* ratio, median of 1 rounds \d+\.\d\d", out, re.M)
