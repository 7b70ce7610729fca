"""Qwen3.5's tool text: the system tools block and the XML tool-call format, both directions.

Rendering follows the template literally: tools are ``tojson`` (transformers' filter is
``json.dumps(ensure_ascii=False)``); a parameter value that is a mapping or a non-string
sequence is ``tojson``, anything else is Jinja's ``|string`` (Python ``str``: ``True``,
``None``, ``1.5``). Parsing reverses that, with the tool schema deciding which values are
JSON, because ``<parameter=x>\\n5\\n</parameter>`` is the same text for ``5`` and ``"5"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mmrender.conversation import ToolCallInput
from mmrender.errors import ConversationError
from mmrender.types import ToolCall

TOOLS_HEADER = "# Tools\n\nYou have access to the following functions:\n\n<tools>"
TOOLS_FOOTER = "\n</tools>"
TOOLS_INSTRUCTIONS = (
    "\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
    "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n"
    "</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\n"
    "that can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n"
    "- Function calls MUST follow the specified format: an inner <function=...></function> block must "
    "be nested within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n"
    "- You may provide optional reasoning for your function call in natural language BEFORE the "
    "function call, but NOT after\n- If there is no function call available, answer the question like "
    "normal with your current knowledge and do not tell the user about function calls\n</IMPORTANT>"
)


def tojson(value: Any) -> str:
    """transformers' ``tojson`` filter with its defaults."""
    return json.dumps(value, ensure_ascii=False)


def tools_block(tools: Sequence[Any]) -> str:
    """The text between ``system\\n`` and the system prompt when tools are given, up to
    :data:`TOOLS_INSTRUCTIONS` (template text that spells ``<tool_call>`` as the control token)."""
    return TOOLS_HEADER + "".join("\n" + tojson(tool) for tool in tools) + TOOLS_FOOTER


def parameter_text(value: Any) -> str:
    """One argument value as the template writes it (see module docstring)."""
    if isinstance(value, Mapping) or (isinstance(value, Sequence) and not isinstance(value, str | bytes)):
        return tojson(value)
    return str(value)


def call_arguments(call: ToolCall, given: ToolCallInput | None, message_index: int) -> Mapping[str, Any]:
    """The argument mapping, or the error the template raises (``|items`` needs a mapping)."""
    if given is not None and given.arguments is None:
        raise ConversationError(
            f"tool call {call.name!r} has arguments null; the Qwen3.5 template needs an object",
            message_index=message_index,
        )
    if not isinstance(call.arguments, Mapping):
        kind = "a JSON string" if isinstance(call.arguments, str) else type(call.arguments).__name__
        raise ConversationError(
            f"tool call {call.name!r} has arguments as {kind}; the Qwen3.5 template renders arguments "
            "parameter by parameter and fails unless they are an object (pass json.loads(arguments))",
            message_index=message_index,
        )
    return call.arguments


def call_body(name: str, arguments: Mapping[str, Any]) -> str:
    """The text between ``<tool_call>`` and ``</tool_call>``."""
    params = "".join(f"<parameter={key}>\n{parameter_text(value)}\n</parameter>\n" for key, value in arguments.items())
    return f"\n<function={name}>\n{params}</function>\n"


# ---- parsing -------------------------------------------------------------------------------

_FUNCTION = re.compile(r"<function=([^>\n]*)>(.*?)(?:</function>|$)", re.DOTALL)
_PARAMETER = re.compile(r"<parameter=([^>\n]*)>(.*?)(?:</parameter>|(?=<parameter=)|$)", re.DOTALL)
_PY_LITERALS = {"True": True, "False": False, "None": None}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}


def schema_index(tools: Sequence[Any] | None) -> dict[str, dict[str, Any]]:
    """``{tool name: {parameter: schema}}`` from OpenAI-style or bare function definitions."""
    index: dict[str, dict[str, Any]] = {}
    for tool in tools or ():
        if not isinstance(tool, Mapping):
            continue
        fn = tool.get("function", tool)
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            continue
        params = fn.get("parameters") or {}
        props = params.get("properties") if isinstance(params, Mapping) else None
        index[fn["name"]] = dict(props) if isinstance(props, Mapping) else {}
    return index


def _schema_types(schema: Any) -> set[str]:
    if not isinstance(schema, Mapping):
        return set()
    kind = schema.get("type")
    types = {kind} if isinstance(kind, str) else {k for k in kind or () if isinstance(k, str)}
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key) or ():
            types |= _schema_types(sub)
    return types


def _matches(value: Any, types: set[str]) -> bool:
    if isinstance(value, bool) and not types & {"boolean"}:
        return False  # bool is an int subclass; 'true' is not an integer
    return any(isinstance(value, _JSON_TYPES[t]) for t in types if t in _JSON_TYPES)


def typed_value(text: str, schema: Any) -> Any:
    """A parameter's text as the type its schema declares; strings stay strings.

    With no schema (unknown tool or parameter, or no ``type``) the text is returned unchanged:
    the rendered text alone cannot tell ``5`` from ``"5"``.
    """
    types = _schema_types(schema)
    if not types or types == {"string"}:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        value = _PY_LITERALS.get(text.strip(), text)
        if value is text:
            return text
    return value if _matches(value, types) else text


def _strip_one_newline(text: str) -> str:
    """The template writes ``>\\n`` before and ``\\n</parameter>`` after each value; undo exactly that."""
    if text.startswith("\n"):
        text = text[1:]
    if text.endswith("\n"):
        text = text[:-1]
    return text


def parse_call(body: str, schemas: Mapping[str, dict[str, Any]]) -> ToolCall | None:
    """One ``<tool_call>`` body to a :class:`ToolCall`; None when it holds no function header."""
    match = _FUNCTION.search(body)
    if match is None:
        return None
    name = match.group(1).strip()
    params = schemas.get(name, {})
    arguments: dict[str, Any] = {}
    for key, raw in _PARAMETER.findall(match.group(2)):
        key = key.strip()
        arguments[key] = typed_value(_strip_one_newline(raw), params.get(key))
    return ToolCall(name=name, arguments=arguments)
