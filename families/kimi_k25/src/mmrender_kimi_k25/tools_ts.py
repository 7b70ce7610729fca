"""Kimi's TypeScript-style tool declarations (the ``tools_ts_str`` the chat template prints).

Why: Moonshot's ``TikTokenTokenizer.apply_chat_template`` deep-sorts the tools and runs them
through ``tool_declaration_ts.encode_tools_to_typescript_style``; the template then prints the
result inside ``<|im_system|>tool_declare<|im_middle|>…<|im_end|>``. Token parity needs the
same text byte for byte, including the encoder's quirks (Python ``repr`` for enum values and
defaults, required-first field order, ``$defs`` printed as interfaces, and the exact exception
for schemas it rejects, on which the caller falls back to ``tools|tojson``).

The schema is first parsed into small nodes, then printed. Parsing and printing happen in the
same order as upstream, so the first error raised is the same one. Oracle: the 146 vectors in
``tests/kimi_k25/data/tools_ts_vectors.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

INDENT = "  "
_STRING_CONSTRAINTS = ("maxLength", "minLength", "pattern")
_NUMBER_CONSTRAINTS = ("maximum", "minimum")
_ARRAY_CONSTRAINTS = ("minItems", "maxItems")
_TYPE_LIST_NAMES = {
    "string": "string",
    "number": "number",
    "integer": "number",
    "boolean": "boolean",
    "null": "null",
    "object": "{}",
    "array": "Array<any>",
}
# An enum with a declared type rejects values of another type (bool counts as a number/integer).
_ENUM_VALUE_TYPES: tuple[tuple[str, type | tuple[type, ...], str], ...] = (
    ("string", str, "a string"),
    ("number", (int, float), "a number"),
    ("integer", int, "an integer"),
    ("boolean", bool, "a boolean"),
)


def deep_sort(obj: Any) -> Any:
    """Copy of ``obj`` with every dict's keys sorted, recursively; list order is kept."""
    if isinstance(obj, dict):
        return {k: deep_sort(v) for k, v in sorted(obj.items())}
    if isinstance(obj, list):
        return [deep_sort(item) for item in obj]
    return obj


@dataclass
class _Node:
    """One parsed schema: ``kind`` picks the printer; comments come from description/constraints."""

    kind: str  # scalar | object | array | enum | anyof | union | ref
    description: Any = ""
    constraints: dict[str, Any] = field(default_factory=dict)
    value: Any = None  # scalar type name, enum values, union names, or ref name
    members: list[_Node] = field(default_factory=list)  # anyOf members, or the array item
    props: list[_Prop] = field(default_factory=list)
    additional: Any = None  # object additionalProperties: None, a bool, a _Node, or anything else


@dataclass
class _Prop:
    name: str
    node: _Node
    optional: bool
    default: Any


@dataclass
class _Registry:
    """``$defs`` seen so far in one function, and whether a ``#`` self-reference was parsed."""

    definitions: dict[str, Any] = field(default_factory=dict)
    has_self_ref: bool = False


def _comments_of(schema: Any, keys: tuple[str, ...] = ()) -> tuple[Any, dict[str, Any]]:
    return schema.get("description", ""), {k: v for k, v in schema.items() if k in keys}


def _parse(schema: Any, reg: _Registry) -> _Node:
    if isinstance(schema, bool):
        if not schema:
            logger.warning(f"Warning: Boolean value {schema} is not supported, use null instead.")
            return _Node("scalar", value="null")
        return _Node("scalar", value="any")
    if "$ref" in schema:
        return _parse_ref(schema, reg)
    if "anyOf" in schema:
        description, _ = _comments_of(schema)
        return _Node("anyof", description, members=[_parse(m, reg) for m in schema["anyOf"]])
    if "enum" in schema:
        return _parse_enum(schema)
    if "type" in schema:
        type_ = schema["type"]
        if isinstance(type_, list):
            description, _ = _comments_of(schema)
            return _Node("union", description, value=[_TYPE_LIST_NAMES[t] for t in type_])
        if type_ == "object":
            return _parse_object(schema, reg)
        if type_ == "array":
            description, constraints = _comments_of(schema, _ARRAY_CONSTRAINTS)
            item = _parse(schema["items"], reg) if schema.get("items") else _Node("scalar", value="any")
            return _Node("array", description, constraints, members=[item])
        keys = (
            _STRING_CONSTRAINTS if type_ == "string" else _NUMBER_CONSTRAINTS if type_ in ("number", "integer") else ()
        )
        description, constraints = _comments_of(schema, keys)
        return _Node("scalar", description, constraints, value=type_)
    if schema == {}:
        return _Node("scalar", value="any")
    raise ValueError(f"Invalid JSON Schema object: {schema}")


def _parse_ref(schema: dict[str, Any], reg: _Registry) -> _Node:
    description, _ = _comments_of(schema)
    ref = schema["$ref"]
    if ref == "#":
        reg.has_self_ref = True
        return _Node("ref", description, value="parameters")
    if not ref.startswith("#/$defs/"):
        raise ValueError(f"Unsupported reference format: {ref}")
    name = ref.split("/")[-1]
    if name not in reg.definitions:
        raise ValueError(f"Reference not found: {ref}")
    target = reg.definitions[name]
    return _Node("ref", description, value="parameters" if target.get("$self_ref", False) else name)


def _parse_enum(schema: dict[str, Any]) -> _Node:
    description, _ = _comments_of(schema)
    values = schema["enum"]
    if "type" in schema:
        type_ = schema["type"]
        if isinstance(type_, list):
            if len(type_) == 2 and "null" in type_:
                type_ = type_[0] if type_[0] != "null" else type_[1]
            elif len(type_) == 1:
                type_ = type_[0]
            else:
                raise ValueError(f"Enum type {type_} is not supported")
        expected = next((rule for rule in _ENUM_VALUE_TYPES if rule[0] == type_), None)
        for value in values:
            if value is not None and expected is not None and not isinstance(value, expected[1]):
                raise ValueError(f"Enum value {value} is not {expected[2]}")
    return _Node("enum", description, value=values)


def _parse_object(schema: Any, reg: _Registry) -> _Node:
    description, _ = _comments_of(schema)
    node = _Node("object", description)
    if not schema:
        return node
    if schema.get("$defs"):
        for name, definition in schema["$defs"].items():
            reg.definitions[name] = definition
    node.additional = schema.get("additionalProperties")
    if isinstance(node.additional, dict):
        node.additional = _parse(node.additional, reg)
    if "properties" not in schema:
        return node
    properties = schema["properties"]
    optional = set(properties.keys()) - set(schema.get("required", []))
    for name, prop in properties.items():
        prop_node = _parse(prop, reg)
        default = prop.get("default") if isinstance(prop, dict) else None
        node.props.append(_Prop(name, prop_node, name in optional, default))
    return node


def _comment_lines(text: Any, indent: str = "") -> str:
    return "\n".join(f"{indent}// {line}" if line else "" for line in text.split("\n"))


def _docstring(node: _Node, indent: str) -> str:
    lines = []
    if node.description:
        lines.append(_comment_lines(node.description, indent))
    if node.constraints:
        pairs = sorted(node.constraints.items(), key=lambda kv: kv[0])
        lines.append(indent + "// " + ", ".join(f"{k}: {v}" for k, v in pairs))
    return "".join(line + "\n" for line in lines)


def _render(node: _Node, indent: str = "") -> Any:
    """TypeScript text of ``node`` (a scalar's type is returned as given, as upstream does)."""
    kind = node.kind
    if kind == "scalar":
        return "number" if node.value == "integer" else node.value
    if kind == "ref":
        return node.value
    if kind == "union":
        return " | ".join(node.value)
    if kind == "enum":
        return " | ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in node.value)
    if kind == "anyof":
        return " | ".join([_render(m, indent) for m in node.members])
    if kind == "array":
        item = node.members[0]
        doc = _docstring(item, indent + INDENT)
        if not doc:
            return f"Array<{_render(item, indent)}>"
        return "Array<\n" + doc + indent + INDENT + _render(item, indent + INDENT) + "\n" + indent + ">"
    return _render_object(node, indent)


def _render_prop(prop: _Prop, indent: str) -> str:
    text = _docstring(prop.node, indent)
    if prop.default is not None:
        default = prop.default
        shown = repr(default) if isinstance(default, (int, float)) else json.dumps(default, ensure_ascii=False)
        text += f"{indent}// Default: {shown}\n"
    return text + f"{indent}{prop.name}{'?' if prop.optional else ''}: {_render(prop.node, indent)}"


def _render_object(node: _Node, indent: str) -> str:
    ordered = sorted((p for p in node.props if not p.optional), key=lambda p: p.name)
    ordered += sorted((p for p in node.props if p.optional), key=lambda p: p.name)
    fields = [_render_prop(p, indent + INDENT) for p in ordered]
    extra = node.additional
    if extra is not None:
        if extra is True:
            shown = "any"
        elif extra is False:
            shown = "never"
        elif isinstance(extra, _Node):
            shown = _render(extra, indent + INDENT)
        else:
            raise ValueError(f"Unknown additionalProperties: {extra}")
        fields.append(f"{indent}{INDENT}[k: string]: {shown}")
    if not fields:
        return "{}"
    return "{\n" + ",\n".join(fields) + "\n" + indent + "}"


def _function_to_typescript(function: Any) -> str:
    reg = _Registry()
    root = _parse_object(function.get("parameters") or {}, reg)
    interfaces = []
    self_referencing = reg.has_self_ref  # read before definitions are parsed, as upstream does
    if self_referencing:
        # The root becomes `interface parameters`: fields in key order, additionalProperties dropped.
        body = ",\n".join(_render_prop(p, INDENT) for p in root.props)
        interfaces.append("interface parameters {" + (f"\n{body}\n" if body else "") + "}")
    for name, definition in list(reg.definitions.items()):
        body = _render(_parse(definition, reg))
        description = definition.get("description", "")
        prefix = _comment_lines(description) + "\n" if description else ""
        interfaces.append(f"{prefix}interface {name} {body}")
    signature = "parameters" if self_referencing else _render_object(root, "")
    type_def = f"type {function.get('name', 'function')} = (_: {signature}) => any;"
    description = function.get("description")
    parts = ["\n".join(interfaces), (description and _comment_lines(description)) or "", type_def]
    return "\n".join(part for part in parts if part)


def encode_tools_to_typescript(tools: list[Any] | None) -> str:
    """``tools_ts_str`` for OpenAI-style ``tools``; ``""`` when no function tool is present.

    Deep-sorts a copy first (the input is never modified). Only ``{"type": "function",
    "function": {...}}`` entries are declared. Schemas the upstream encoder rejects raise the
    same exception type and message; Moonshot's tokenizer then omits ``tools_ts_str`` and the
    template falls back to ``tools | tojson`` of the deep-sorted tools.
    """
    tools = deep_sort(tools)
    if not tools:
        return ""
    functions = []
    for tool in tools:
        if tool.get("type") == "function":
            function = tool.get("function", {})
            if function:
                functions.append(_function_to_typescript(function))
    if not functions:
        return ""
    return "# Tools\n\n## functions\nnamespace functions {\n" + "\n".join(functions) + "\n}\n"
