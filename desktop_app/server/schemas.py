"""Checking request bodies: every field the server reads is type-checked here, and fails with a 400 naming it.

Unknown fields are ignored (clients send ``user``, ``frequency_penalty``, ``logprobs``... that change nothing
here); fields whose meaning cannot be honoured (``n`` > 1, images) are refused rather than ignored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from desktop_app.server.errors import ApiError, invalid
from desktop_app.server.tools import ToolSpec, parse_tool_choice, parse_tools, tool_grammar
from engine.lora.adapters import MAX_SCALE, AdapterChoice
from engine.params import SamplingParams
from engine.structured import StructuredOutputError, json_object_grammar, json_schema_grammar

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_STOPS = 4
MAX_EMBED_INPUTS = 256


@dataclass
class ReplyRequest:
    """What ``/v1/chat/completions`` and ``/v1/completions`` have in common."""

    model: str | None
    params: SamplingParams
    stream: bool = False
    include_usage: bool = False
    lora: list[AdapterChoice] = field(default_factory=list)


@dataclass
class ChatRequest(ReplyRequest):
    messages: list[dict] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: str | None = None  # "none", "auto", "required" or a tool's name
    json_mode: bool = False  # response_format json_object / json_schema: the reply is one JSON document
    collections: list[str] = field(default_factory=list)
    strict: bool = False
    k: int = 5


@dataclass
class CompletionRequest(ReplyRequest):
    prompt: str = ""


@dataclass
class EmbeddingRequest:
    model: str | None
    inputs: list[str]
    base64: bool = False
    dimensions: int | None = None


def require_object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


def _number(body: dict, name: str, low: float, high: float, default: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise invalid(f"'{name}' must be a number from {low:g} to {high:g}.", param=name)
    return float(value)


def _integer(body: dict, name: str, low: int, high: int, default: int | None) -> int | None:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"'{name}' must be an integer from {low} to {high}.", param=name)
    return value


def _boolean(body: dict, name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(f"'{name}' must be true or false.", param=name)
    return value


def _model(body: dict) -> str | None:
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise invalid("'model' must be a string.", param="model")
    return model or None


def _stops(body: dict) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or len(stops) > MAX_STOPS or not all(isinstance(s, str) and s for s in stops):
        raise invalid(f"'stop' must be a non-empty string or a list of at most {MAX_STOPS} of them.", param="stop")
    return stops


def _sampling(body: dict, default_max_tokens: int) -> SamplingParams:
    _integer(body, "n", 1, 1, 1)  # one choice per request
    max_tokens = _integer(body, "max_completion_tokens", 1, 1 << 20, None)
    max_tokens = _integer(body, "max_tokens", 1, 1 << 20, max_tokens) or default_max_tokens
    seed = _integer(body, "seed", -(1 << 63), (1 << 64) - 1, -1)
    return SamplingParams(
        temperature=_number(body, "temperature", 0.0, 2.0, 0.7),
        top_p=_number(body, "top_p", 0.0, 1.0, 0.95) or 1e-6,
        max_tokens=max_tokens,
        seed=seed % (1 << 31) if seed >= 0 else -1,
        stop=_stops(body),
    )


def _lora(body: dict) -> list[AdapterChoice]:
    items = body.get("lora")
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > 8:
        raise invalid("'lora' must be a list of at most 8 {\"name\", \"scale\"} objects.", param="lora")
    choices = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise invalid("Each 'lora' item needs a 'name' (a registered adapter, see `nook lora list`).",
                          param="lora")
        scale = item.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 <= scale <= MAX_SCALE:
            raise invalid(f"A LoRA 'scale' must be a number from 0 to {MAX_SCALE:g}.", param="lora")
        if scale > 0:
            choices.append(AdapterChoice(item["name"], float(scale)))
    return choices


def _reply_fields(body: dict, default_max_tokens: int) -> dict:
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise invalid("'stream_options' must be an object.", param="stream_options")
    return dict(model=_model(body), params=_sampling(body, default_max_tokens), stream=_boolean(body, "stream"),
                include_usage=_boolean(options or {}, "include_usage"), lora=_lora(body))


def _content(message: dict, index: int) -> str:
    content = message.get("content")
    if content is None and (message.get("tool_calls") or message.get("role") == "assistant"):
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise invalid(f"messages[{index}].content: only text parts are supported (no images or audio).",
                              param=f"messages[{index}].content")
            parts.append(part["text"])
        return "".join(parts)
    raise invalid(f"messages[{index}].content must be a string or a list of text parts.",
                  param=f"messages[{index}].content")


def _messages(body: dict) -> list[dict]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("'messages' must be a non-empty list of {\"role\", \"content\"} objects.", param="messages")
    out = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise invalid(f"messages[{index}] needs a 'role', one of {', '.join(ROLES)}.",
                          param=f"messages[{index}].role")
        item = {"role": message["role"], "content": _content(message, index)}
        for key in ("tool_calls", "tool_call_id", "name"):
            if message.get(key) is not None:
                item[key] = message[key]
        out.append(item)
    return out


def _response_grammar(body: dict) -> str | None:
    fmt = body.get("response_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise invalid("'response_format.type' must be text, json_object or json_schema.", param="response_format")
    if fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        return json_object_grammar()
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
        raise invalid("'response_format.json_schema' must be an object with a 'schema' object.",
                      param="response_format")
    try:
        return json_schema_grammar(spec.get("schema") or {"type": "object"})
    except StructuredOutputError as exc:
        raise invalid(str(exc), param="response_format") from None


def _collections(body: dict) -> list[str]:
    names = body.get("collections")
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names) or len(names) > 16:
        raise invalid("'collections' must be a list of collection names (see `nook collections list`).",
                      param="collections")
    return list(dict.fromkeys(names))


def chat_request(body: Any, default_max_tokens: int) -> ChatRequest:
    body = require_object(body)
    request = ChatRequest(**_reply_fields(body, default_max_tokens), messages=_messages(body))
    request.tools = parse_tools(body.get("tools"))
    request.tool_choice = parse_tool_choice(body.get("tool_choice"), request.tools)
    grammar = _response_grammar(body)
    if grammar is not None and request.tool_choice not in (None, "none"):
        raise invalid("Use either 'response_format' or 'tools', not both.", param="response_format")
    request.json_mode = grammar is not None
    if request.tool_choice not in (None, "none"):
        grammar = tool_grammar(request.tools, request.tool_choice)
    request.params.grammar = grammar
    request.collections = _collections(body)
    request.strict = _boolean(body, "strict")
    request.k = _integer(body, "k", 1, 50, 5)
    return request


def completion_request(body: Any, default_max_tokens: int) -> CompletionRequest:
    body = require_object(body)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        raise invalid("'prompt' must be a non-empty string (lists of several prompts and token ids are "
                      "not supported).", param="prompt")
    for name in ("echo", "suffix"):
        if body.get(name):
            raise invalid(f"'{name}' is not supported.", param=name)
    _integer(body, "best_of", 1, 1, 1)
    return CompletionRequest(**_reply_fields(body, default_max_tokens), prompt=prompt)


def embedding_request(body: Any, max_chars: int) -> EmbeddingRequest:
    body = require_object(body)
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs or len(inputs) > MAX_EMBED_INPUTS \
            or not all(isinstance(t, str) and t for t in inputs):
        raise invalid(f"'input' must be a non-empty string or a list of 1 to {MAX_EMBED_INPUTS} non-empty "
                      "strings (token ids are not supported).", param="input")
    if any(len(t) > max_chars for t in inputs):
        raise invalid(f"Each input may be at most {max_chars} characters.", param="input")
    fmt = body.get("encoding_format", "float") or "float"
    if fmt not in ("float", "base64"):
        raise invalid("'encoding_format' must be float or base64.", param="encoding_format")
    return EmbeddingRequest(model=_model(body), inputs=inputs, base64=fmt == "base64",
                            dimensions=_integer(body, "dimensions", 1, 1 << 16, None))


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "The request body is not valid JSON.", code="invalid_json") from None
