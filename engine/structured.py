"""Structured output: JSON schemas and JSON objects turned into llama.cpp grammars (GBNF text).

A grammar constrains sampling token by token, so a reply made under it always parses (unless it is cut
short by ``max_tokens``). The conversion is llama.cpp's own JSON-schema converter as shipped with
llama-cpp-python (``llama_cpp/llama_grammar.py``, pure Python). It is loaded from its file here, without
importing the ``llama_cpp`` package, so the app's process never loads the native library: the grammar
travels as text in ``SamplingParams.grammar`` to the engine process, which hands it to llama.cpp.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

from engine.errors import InglenookError


class StructuredOutputError(InglenookError):
    """A JSON schema that cannot be turned into a grammar, or a schema file that cannot be read."""


_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_STRICT_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'


@cache
def _converter():
    """llama-cpp-python's ``llama_grammar`` module, loaded from its file (stdlib only, no native library)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise StructuredOutputError("llama-cpp-python is not installed; run scripts/setup.sh again.")
    path = Path(next(iter(spec.submodule_search_locations))) / "llama_grammar.py"
    module_spec = importlib.util.spec_from_file_location("_inglenook_llama_grammar", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def json_object_grammar() -> str:
    """Any JSON object (OpenAI's ``response_format: {"type": "json_object"}``).

    Whitespace between tokens is one space at most, as in the schema grammars: a small model otherwise
    spends its tokens on indentation and runs out before the object closes.
    """
    grammar = _converter().JSON_GBNF
    loose_ws = 'ws ::= | " " | "\\n" [ \\t]{0,20}'
    if loose_ws not in grammar:
        raise StructuredOutputError("llama-cpp-python's JSON grammar changed; update engine/structured.py.")
    return grammar.replace(loose_ws, 'ws ::= | " "')


def json_schema_grammar(schema: Any) -> str:
    """The grammar of the JSON documents ``schema`` (a dict, or its JSON text) describes."""
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise StructuredOutputError(f"The JSON schema is not valid JSON ({exc}); fix the schema.") from None
    if not isinstance(schema, dict):
        raise StructuredOutputError("A JSON schema must be a JSON object, such as {\"type\": \"object\", ...}.")
    try:
        grammar = _converter().json_schema_to_gbnf(json.dumps(schema))
    except RecursionError:
        raise StructuredOutputError("The JSON schema nests too deeply to become a grammar; simplify it.") from None
    except Exception as exc:  # the converter raises bare Exception/ValueError/KeyError on what it cannot handle
        raise StructuredOutputError(
            f"This JSON schema cannot be turned into a grammar ({type(exc).__name__}: {exc}); use the "
            "common keywords (type, properties, required, items, enum, const, anyOf, $ref to #/$defs)."
        ) from None
    # this converter lets strings hold raw control characters (a newline, say), which JSON forbids and
    # json.loads refuses; llama.cpp's newer converter excludes them the same way
    return grammar.replace(_LOOSE_CHAR, _STRICT_CHAR)


def load_schema_file(path: Path | str) -> dict:
    """A JSON schema from a file (``nook ask --json-schema FILE``), checked to make a grammar."""
    path = Path(path).expanduser()
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StructuredOutputError(f"Cannot read the schema file {path} ({exc.strerror or exc}).") from None
    except ValueError as exc:
        raise StructuredOutputError(f"{path} is not valid JSON ({exc}); fix the schema file.") from None
    json_schema_grammar(schema)
    return schema
