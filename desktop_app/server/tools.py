"""OpenAI tool calling on a local model: the tools are described to the model, and a grammar makes its
reply a well-formed call.

The reply is one JSON object: ``{"name": <a tool>, "arguments": {...}}`` whose arguments follow that tool's
``parameters`` schema, or, with ``tool_choice: "auto"``, also ``{"content": "..."}`` for a plain answer.
With ``"required"`` it must call one of the tools, with a named tool exactly that one, and with ``"none"``
the tools are not offered at all. Tool results (``role: "tool"``) and earlier calls go back to the model
as text, so every chat template can render them.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field

from desktop_app.server.errors import invalid
from engine.structured import StructuredOutputError, json_schema_grammar

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TOOLS = 32


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: dict = field(default_factory=lambda: {"type": "object"})


def parse_tools(value) -> list[ToolSpec]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TOOLS:
        raise invalid(f"'tools' must be a list of at most {MAX_TOOLS} function tools.", param="tools")
    tools = []
    for index, tool in enumerate(value):
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) \
                or not _NAME.match(function["name"]):
            raise invalid(f"tools[{index}] must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}} "
                          "with a name of letters, digits, _ and -.", param=f"tools[{index}]")
        parameters = function.get("parameters") or {"type": "object"}
        description = function.get("description") or ""
        if not isinstance(parameters, dict) or not isinstance(description, str):
            raise invalid(f"tools[{index}].function.parameters must be a JSON schema object.",
                          param=f"tools[{index}]")
        tools.append(ToolSpec(function["name"], description, parameters))
    if len({t.name for t in tools}) != len(tools):
        raise invalid("Two tools have the same name.", param="tools")
    return tools


def parse_tool_choice(value, tools: list[ToolSpec]) -> str | None:
    """"none", "auto", "required" or the name of the one tool to call; None when there are no tools."""
    if not tools:
        if value not in (None, "none", "auto"):
            raise invalid("'tool_choice' needs 'tools'.", param="tool_choice")
        return None
    if value is None:
        return "auto"
    if value in ("none", "auto", "required"):
        return value
    function = value.get("function") if isinstance(value, dict) and value.get("type") == "function" else None
    name = function.get("name") if isinstance(function, dict) else None
    if name not in {t.name for t in tools}:
        raise invalid("'tool_choice' must be none, auto, required or {\"type\": \"function\", \"function\": "
                      "{\"name\": <one of the tools>}}.", param="tool_choice")
    return name


def tool_grammar(tools: list[ToolSpec], choice: str) -> str:
    """The grammar of a reply under ``choice`` (not "none")."""
    offered = [t for t in tools if choice in ("auto", "required") or t.name == choice]
    calls = [{"type": "object", "properties": {"name": {"const": t.name}, "arguments": t.parameters},
              "required": ["name", "arguments"]} for t in offered]
    if choice == "auto":
        calls.append({"type": "object", "properties": {"content": {"type": "string"}}, "required": ["content"]})
    schema = calls[0] if len(calls) == 1 else {"anyOf": calls}
    try:
        return json_schema_grammar(schema)
    except StructuredOutputError as exc:
        raise invalid(f"A tool's parameters cannot be used: {exc}", param="tools") from None


def tool_prompt(tools: list[ToolSpec], choice: str) -> str:
    """The system prompt part that tells the model which tools it has and how to call them."""
    offered = [t for t in tools if choice in ("auto", "required") or t.name == choice]
    lines = ["You can call these functions:"]
    for tool in offered:
        lines.append(f"- {tool.name}: {tool.description or 'no description'} "
                     f"Parameters (JSON schema): {json.dumps(tool.parameters, ensure_ascii=False)}")
    lines.append('To call a function, reply with JSON only: {"name": "<function>", "arguments": {...}}.')
    if choice == "auto":
        lines.append('To answer without calling a function, reply with JSON only: {"content": "<your answer>"}.')
    return "\n".join(lines)


def with_tools(messages: list[dict], tools: list[ToolSpec], choice: str | None) -> list[dict]:
    """The messages the model sees: tool results and earlier calls as text, the tools in the system prompt."""
    out = []
    for message in messages:
        role, content = message["role"], message["content"]
        if role == "developer":
            role = "system"
        if role == "tool":
            role, content = "user", f"Function result ({message.get('name') or message.get('tool_call_id') or 'tool'}): {content}"
        elif role == "assistant" and message.get("tool_calls"):
            content = "\n".join(_call_text(call) for call in message["tool_calls"] if isinstance(call, dict))
        out.append({"role": role, "content": content})
    if choice is None or choice == "none":
        return out
    prompt = tool_prompt(tools, choice)
    if out and out[0]["role"] == "system":
        return [{"role": "system", "content": out[0]["content"] + "\n\n" + prompt}, *out[1:]]
    return [{"role": "system", "content": prompt}, *out]


def _call_text(call: dict) -> str:
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    arguments = function.get("arguments", "{}")
    try:
        arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        pass
    return json.dumps({"name": function.get("name", ""), "arguments": arguments}, ensure_ascii=False)


def read_reply(text: str) -> tuple[str | None, list[dict]]:
    """``(content, tool_calls)`` of a reply made under a tool grammar (a cut-off reply stays text)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text, []
    if isinstance(data, dict) and isinstance(data.get("name"), str) and "arguments" in data:
        call = {"id": "call_" + secrets.token_hex(12), "type": "function",
                "function": {"name": data["name"], "arguments": json.dumps(data["arguments"], ensure_ascii=False)}}
        return None, [call]
    if isinstance(data, dict) and isinstance(data.get("content"), str):
        return data["content"], []
    return text, []
