"""The MLC LLM runtime against a STAND-IN of MLC's documented API (tests/support/mlc_standin.py), because no
machine here has MLC LLM and a compiled model. What this proves is our side of the contract only."""

from __future__ import annotations

import argparse

import pytest

from engine.diagnostics import check_mlc
from engine.errors import GenerationError, InglenookError, ModelLoadError
from engine.events import TextDelta
from engine.host import ModelHost
from engine.params import LoadOptions, SamplingParams
from engine.runtimes import mlc, registry
from tests.support import mlc_standin

QUESTION = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "one two three four five"}]


@pytest.fixture
def standin(monkeypatch):
    """The stand-in installed as ``mlc_llm`` and the runtime registered, both undone afterwards."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    module = mlc_standin.install(monkeypatch)
    assert mlc.register()
    return module


def test_not_registered_without_mlc_and_doctor_says_so(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry._REGISTRY.pop("mlc", None)
    monkeypatch.setattr(mlc, "mlc_available", lambda: False)
    assert mlc.register() is False and "mlc" not in registry.runtime_names()
    check = check_mlc()
    assert check.status == "ok" and "not installed" in check.summary and "unverified" in check.summary
    from desktop_app.cli.common import Context

    ctx = Context.open()
    try:
        with pytest.raises(InglenookError, match="MLC LLM is not installed"):
            ctx.load_model(argparse.Namespace(model="mlc:/models/x", ctx=None))
    finally:
        ctx.close()


def test_replies_stream_through_the_documented_api(standin):
    assert standin.STANDIN and "mlc" in registry.runtime_names()
    host = ModelHost("mlc")
    try:
        loaded = host.load("mlc:/models/Llama-3-8B-q4f16_1-MLC", LoadOptions(n_ctx=2048)).result()
        assert loaded.name == "Llama-3-8B-q4f16_1-MLC" and loaded.details == {"verified": False}
        stream = host.chat(QUESTION, SamplingParams(temperature=0.3, max_tokens=10, seed=5, stop=["two"]))
        text = "".join(e.text for e in stream if isinstance(e, TextDelta))
        assert text == "five four three" and stream.finished.reason == "stop"
        assert stream.finished.timings.completion_tokens == 3
        request = mlc_standin.LOG.requests[-1]
        assert request["model"] == "/models/Llama-3-8B-q4f16_1-MLC" and request["stream"] is True
        assert request["temperature"] == 0.3 and request["seed"] == 5 and request["stop"] == ["two"]
        short = host.chat(QUESTION, SamplingParams(max_tokens=2)).wait()
        assert short.text == "five four" and short.reason == "length"
    finally:
        host.close()
    assert mlc_standin.LOG.terminated == 1  # unloading terminates MLC's engine


def test_cancel_aborts_the_request_and_errors_are_typed(standin):
    backend = mlc.MlcBackend()
    backend.load("mlc:/models/m", LoadOptions())
    events = backend.chat(QUESTION, SamplingParams(max_tokens=10), should_stop=lambda: True)
    assert list(events)[-1].reason == "cancelled" and mlc_standin.LOG.aborted == 1
    with pytest.raises(GenerationError, match="GGUF model for structured output"):
        list(backend.chat(QUESTION, SamplingParams(grammar='root ::= "x"')))
    with pytest.raises(ModelLoadError, match="mlc-chat-config.json"):
        backend.load("mlc:/models/missing", LoadOptions())
    check = check_mlc()
    assert check.status == "warn" and "UNVERIFIED" in check.summary and "stand-in" in check.summary


def test_nook_ask_with_an_mlc_model(standin, capsys):
    from desktop_app.cli import main

    assert main(["ask", "alpha beta gamma", "--model", "mlc:/models/m", "--max-tokens", "5"]) == 0
    out = capsys.readouterr()
    assert "gamma beta alpha" in out.out and "MLC LLM (unverified runtime)" in out.err
