"""The JSON Schemas of reconciler.yaml and declaration files: where they are, checking with them.

The schemas live at the top of the repository (``schemas/``, where editors point) and ship inside
the wheel as ``reconciler/schemas/`` (pyproject's force-include). Checking is two-speed: a
fastjsonschema validator compiled once per process answers "valid?" quickly; only when it says
no does jsonschema (draft 2020-12) walk the document again to explain *every* error in words a
user can act on. The schemas use only keywords that mean the same in draft-07 and 2020-12, so
both libraries agree.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Imported only to explain a failure (see _explainer): it costs ~70 ms at every start.
    import jsonschema  # type: ignore[import-untyped,unused-ignore]

from reconciler.load import schemacache
from reconciler.model import JsonPath
from reconciler.quoting import EXCERPT_CHARS, excerpt

_PACKAGED = Path(__file__).resolve().parent.parent / "schemas"
_SOURCE_TREE = Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One schema violation: where in the document (JSON path) and what to do about it."""

    path: JsonPath
    message: str


def schema_dir() -> Path:
    """The folder holding the schemas: inside the installed package, else the source checkout's."""
    if (_PACKAGED / "users.schema.json").is_file():
        return _PACKAGED
    return _SOURCE_TREE


def schema_path(name: str) -> Path:
    """``schema_path("users")`` -> .../users.schema.json (``name`` may be the file name too)."""
    file_name = name if name.endswith(".json") else f"{name}.schema.json"
    path = schema_dir() / file_name
    if not path.is_file():
        raise FileNotFoundError(f"schema {file_name} not found in {schema_dir()}")
    return path


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema (cached: it never changes while the process runs)."""
    schema: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return schema


def _definition(name: str, definition: str | None) -> dict[str, Any]:
    """The whole schema, or a wrapper that checks one ``$defs`` entry (e.g. one ``user``)."""
    schema = copy.deepcopy(load_schema(name))  # compilers may annotate what they are given
    if definition is None:
        return schema
    return {
        "$schema": schema["$schema"],
        "$id": schema["$id"],  # so "#/$defs/..." resolves in this document, never remotely
        "$defs": schema["$defs"],
        "$ref": f"#/$defs/{definition}",
    }


def _no_remote(uri: str) -> Any:
    """validate is offline: a schema reference must never reach the network."""
    raise ValueError(f"remote schema reference {uri} is not followed (validation is offline)")


@functools.cache
def compiled(name: str, definition: str | None = None) -> Callable[[Any], Any]:
    """A fastjsonschema validator, once per process, its code cached on disk across runs.

    Generating and compiling a validator costs ~40 ms per schema at every start: the larger
    share of a pre-commit ``validate`` on one small file. The compiled code is kept in the
    user's cache folder, keyed by the schema, fastjsonschema's version and Python's bytecode
    tag, so a changed schema or upgrade never loads stale code, and signed (``schemacache``),
    so that only code this user's reconciler wrote is ever executed.
    """
    schema = _definition(name, definition)
    key = _cache_key(schema)
    namespace: dict[str, Any] = {}
    code = schemacache.load(key)
    if code is None:
        code = compile(_generate(schema), f"<schema {name}>", "exec")
        schemacache.store(key, code)
    namespace.update(
        JsonSchemaValueException=SchemaInvalid,
        JsonSchemaValuesException=SchemaInvalid,
        Decimal=_Decimal,
    )
    exec(code, namespace)
    validator: Callable[[Any], Any] = namespace[namespace["ROOT_VALIDATOR"]]
    return validator


def _generate(schema: dict[str, Any]) -> str:
    """The validator's Python source, naming its entry point (the first function generated)."""
    import fastjsonschema  # only to compile: ~14 ms, which a cached validator does not need

    handlers = {"http": _no_remote, "https": _no_remote}
    # use_default=False: "default" documents the value for editors; it must not be written
    # into the user's data (a sprig target would get the sandbox's path).
    source = fastjsonschema.compile_to_code(schema, handlers=handlers, use_default=False)
    # The code raises SchemaInvalid (given to it by ``compiled``), not fastjsonschema's exceptions,
    # so that running it does not import fastjsonschema.
    source, imports = _FASTJSONSCHEMA_IMPORT.subn("", source)
    if imports != 1:  # pragma: no cover - what fastjsonschema generates changed
        raise RuntimeError("fastjsonschema's generated code imports something else now")
    # Its Decimal is only in isinstance checks: _Decimal (given by ``compiled``) answers them,
    # last in each tuple of types so that a value of another type never asks it (it imports
    # decimal to answer); code that would build a Decimal keeps its import.
    if "Decimal(" not in source:
        source = _ISINSTANCE_TYPES.sub(_decimal_last, _DECIMAL_IMPORT.sub("", source))
    # Only "valid?" is asked of this code (explain() words errors): a $ref call's path for
    # messages, a locals() and a format per user, attribute and company, is not built.
    source = _REF_PATH.sub("custom_formats, name_prefix)", source)
    root = re.search(r"^def (\w+)\(", source, re.MULTILINE)
    if root is None:  # pragma: no cover - fastjsonschema always generates a function
        raise RuntimeError("fastjsonschema generated no validator function")
    return f"{source}\nROOT_VALIDATOR = {root.group(1)!r}\n"


_FASTJSONSCHEMA_IMPORT = re.compile(r"^from fastjsonschema import .*$", re.MULTILINE)
_DECIMAL_IMPORT = re.compile(r"^from decimal import Decimal$", re.MULTILINE)
_ISINSTANCE_TYPES = re.compile(r"(isinstance\([\w.]+, \()([\w, ]+)\)")


def _decimal_last(match: re.Match[str]) -> str:
    """``isinstance(x, (str, int, float, Decimal, bool))`` with Decimal moved to the end: the
    same answer (any type matches), but an int, a bool or a list stops before it."""
    types = match.group(2).split(", ")
    if "Decimal" not in types:
        return match.group(0)
    return f"{match.group(1)}{', '.join([t for t in types if t != 'Decimal'] + ['Decimal'])})"


#: A ``$ref`` call's path argument: ``(name_prefix or "data") + "...".format(**locals())``.
_REF_PATH = re.compile(
    r'custom_formats, \(name_prefix or "data"\) \+ "[^"\n]*"\.format\(\*\*locals\(\)\)\)'
)
#: The cache key's salt, with the module's source (``_cache_key``): what ``_generate`` makes.
_GENERATED = "4"


class _DecimalCheck(type):
    def __instancecheck__(cls, instance: object) -> bool:
        import decimal

        return isinstance(instance, decimal.Decimal)


class _Decimal(metaclass=_DecimalCheck):
    """What the generated code names ``Decimal`` in its ``isinstance(x, (int, float, Decimal))``:
    an instance of it is exactly an instance of ``decimal.Decimal``, but the decimal module is
    imported only when a value gets that far (an int or a float matches before it), not by every
    validate (~1 ms of its start)."""


class SchemaInvalid(ValueError):
    """Raised by a compiled validator when the data does not satisfy its schema (as
    fastjsonschema's JsonSchemaValueException, whose arguments it takes)."""

    def __init__(self, message: str, *args: Any, **details: Any) -> None:
        super().__init__(message)


@functools.cache
def _fastjsonschema_version() -> str:
    """fastjsonschema's VERSION, read from its version.py without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec("fastjsonschema")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("fastjsonschema is not installed")
    text = (Path(spec.origin).parent / "version.py").read_text(encoding="utf-8")
    found = re.search(r"""^VERSION\s*=\s*['"]([^'"]+)['"]""", text, re.MULTILINE)
    return found.group(1) if found else text


@functools.cache
def _own_source_digest() -> str:
    try:
        return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    except OSError:  # installed without its source: the version and the salt decide
        return ""


def _cache_key(schema: dict[str, Any]) -> str:
    material = json.dumps(schema, sort_keys=True) + _fastjsonschema_version() + _GENERATED
    # And this module's own source: what _generate makes of fastjsonschema's code, and the
    # names it gives that code, are here; a cache written by another edit of them (the salt
    # not bumped) would otherwise be loaded and fail with a NameError on the first value.
    material += _own_source_digest()
    material += sys.implementation.cache_tag or sys.version
    return hashlib.sha256(material.encode()).hexdigest()[:32]


@functools.cache
def _explainer(name: str, definition: str | None) -> jsonschema.Draft202012Validator:
    import jsonschema  # type: ignore[import-untyped,unused-ignore]

    return jsonschema.Draft202012Validator(_definition(name, definition))


def is_valid(name: str, instance: Any, definition: str | None = None) -> bool:
    """The fast path: does ``instance`` satisfy the schema (or one of its definitions)?"""
    try:
        compiled(name, definition)(instance)
    except SchemaInvalid:
        return False
    return True


def check(
    name: str,
    instance: Any,
    definition: str | None = None,
    written: Mapping[JsonPath, str] | None = None,
) -> list[SchemaIssue]:
    """Every schema violation in ``instance``, explained; empty when valid (checked fast).

    ``written`` maps the paths of values that were rewritten before the check (``${VAR}``
    expanded) to their text as written: messages about them quote that text, never the value.
    """
    if is_valid(name, instance, definition):
        return []
    return explain(name, instance, definition, written)


def explain(
    name: str,
    instance: Any,
    definition: str | None = None,
    written: Mapping[JsonPath, str] | None = None,
) -> list[SchemaIssue]:
    """Walk ``instance`` with jsonschema and phrase each error for a person, deduplicated."""
    issues: dict[SchemaIssue, None] = {}
    for error in _explainer(name, definition).iter_errors(instance):
        path: JsonPath = tuple(error.absolute_path)
        quotes_value = error.validator not in _VALUE_FREE
        if quotes_value and written and any(key[: len(path)] == path for key in written):
            issues[SchemaIssue(path, _expanded_message(error, written.get(path)))] = None
            continue
        for issue in _issues(error, instance):
            issues[issue] = None
    return sorted(issues, key=lambda issue: ([str(p) for p in issue.path], issue.message))


def _issues(error: jsonschema.ValidationError, root: Any) -> Iterable[SchemaIssue]:
    path: JsonPath = tuple(error.absolute_path)
    keyword, value, instance = error.validator, error.validator_value, error.instance
    if keyword == "additionalProperties" and isinstance(instance, dict):
        known = sorted(error.schema.get("properties", {}))
        for key in sorted(set(instance) - set(known)):
            yield SchemaIssue((*path, key), unknown_key_message(key, known))
    elif keyword == "required" and isinstance(instance, dict):
        for key in value:
            if key not in instance:
                yield SchemaIssue(path, f"missing required key {key!r}{_for_provider(instance)}")
    elif keyword == "not" and value == {}:
        parent = _at(root, path[:-1])
        yield SchemaIssue(path, f"{path[-1]!r} is not allowed{_for_provider(parent)}")
    elif "propertyNames" in error.relative_schema_path:
        title = error.schema.get("title", "name")
        yield SchemaIssue((*path, instance), f"{_quoted(instance)} is not a valid {title.lower()}")
    else:
        yield SchemaIssue(path, _MESSAGES.get(keyword, _default_message)(error))


#: Keywords whose messages never quote the value (only keys and limits): kept as they are
#: when the value holds an expanded ${VAR}.
_VALUE_FREE = frozenset({"required", "additionalProperties", "minItems", "minProperties"})


def _expanded_message(error: jsonschema.ValidationError, written: str | None) -> str:
    """A message about a value holding expanded variables, quoting only its written text."""
    if written is None:  # a list or mapping holding an expanded string
        return "is not valid once its ${VAR} are expanded (check the variables' values)"
    keyword, value = error.validator, error.validator_value
    if keyword == "type":
        wanted = value if isinstance(value, list) else [value]
        expected = " or ".join(_TYPE_WORDS.get(str(kind), str(kind)) for kind in wanted)
    elif keyword == "enum":
        expected = "one of " + ", ".join(str(choice) for choice in value)
    elif keyword == "pattern":
        expected = "a valid " + error.schema.get("title", "value").lower()
    elif keyword in ("minimum", "maximum", "exclusiveMinimum"):
        word = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than"}
        expected = f"a number {word[keyword]} {value}"
    elif keyword == "minLength":
        expected = "a text that is not empty"
    else:
        expected = "a valid value"
    return f"{excerpt(written)} does not give {expected} once its ${{VAR}} are expanded"


def unknown_key_message(key: str, known: Iterable[str]) -> str:
    """``unknown key 'atributes' (did you mean 'attributes'?)``: typos must never pass silently."""
    import difflib  # only a problem needs it: a valid repository's validate does not load it

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        return f"unknown key {_quoted(key)} (did you mean {close[0]!r}?)"
    return f"unknown key {_quoted(key)} (expected one of: {', '.join(known)})"


def _for_provider(instance: Any) -> str:
    if isinstance(instance, dict) and isinstance(instance.get("provider"), str):
        return f" for provider {instance['provider']}"
    return ""


def _at(root: Any, path: JsonPath) -> Any:
    for part in path:
        root = root[part]
    return root


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
    "array": "a list",
    "object": "a mapping",
}


def describe(value: Any) -> str:
    """What kind of value a YAML value is, in the words a user knows (``an integer``); never
    the value itself, which may be personal data and would end up in a CI log."""
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "a mapping"


def _number(value: Any) -> str:
    """A number as written, unless it is too long to be worth quoting."""
    if isinstance(value, int) and value.bit_length() > 4 * EXCERPT_CHARS:
        return "a very long number"
    text = str(value)
    return text if len(text) <= EXCERPT_CHARS else "a very long number"


def _type_message(error: jsonschema.ValidationError) -> str:
    wanted = (
        error.validator_value
        if isinstance(error.validator_value, list)
        else [error.validator_value]
    )
    words = [_TYPE_WORDS.get(str(kind), str(kind)) for kind in wanted]
    expected = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    message = f"expected {expected}, got {describe(error.instance)}"
    is_number = isinstance(error.instance, (int, float)) and not isinstance(error.instance, bool)
    if "string" in wanted and is_number:
        message += "; quote it to make it text"
    return message


#: Names people write for a choice under another name: the vendor's former name.
_FORMER_NAMES = {"userleap": ("sprig", "UserLeap is Sprig's former name: write provider: sprig")}


def _enum_message(error: jsonschema.ValidationError) -> str:
    allowed = [str(choice) for choice in error.validator_value]
    message = f"must be one of {', '.join(allowed)}; got {describe(error.instance)}"
    former = _FORMER_NAMES.get(str(error.instance).strip().lower())
    if former is not None and former[0] in allowed:
        return f"{message} ({former[1]})"
    import difflib

    close = difflib.get_close_matches(str(error.instance), allowed, n=1)
    return message + (f" (did you mean {close[0]!r}?)" if close else "")


def _pattern_message(error: jsonschema.ValidationError) -> str:
    title = error.schema.get("title")
    if title == "Base URL" and isinstance(error.instance, str) and "://" not in error.instance:
        scheme = "https:// before the host, e.g. https://api.sprig.com"
        return f"{_quoted(error.instance)} has no scheme: write {scheme}"
    if title:
        return f"{_quoted(error.instance)} is not a valid {title[0].lower()}{title[1:]}"
    return f"{_quoted(error.instance)} does not match {error.validator_value}"


def _length_message(error: jsonschema.ValidationError) -> str:
    if error.validator_value == 1:
        return "must not be empty"
    return f"is too short (at least {error.validator_value})"


def _alternatives_message(error: jsonschema.ValidationError) -> str:
    """A value that fits none of a ``oneOf``: what the schema says the choices are."""
    choices = error.schema.get("x-choices") if isinstance(error.schema, dict) else None
    if choices:
        return f"must be {choices}, not {describe(error.instance)}"
    return _default_message(error)


def _default_message(error: jsonschema.ValidationError) -> str:
    # jsonschema's own message quotes the whole value, however long: say what is wrong only.
    return f"does not satisfy the schema's {error.validator!r} rule ({describe(error.instance)})"


def _quoted(value: Any) -> str:
    """A value from the file inside a message: a short escaped excerpt, never all of it."""
    return excerpt(value) if isinstance(value, str) else describe(value)


_MESSAGES: dict[str, Callable[[jsonschema.ValidationError], str]] = {
    "type": _type_message,
    "enum": _enum_message,
    "pattern": _pattern_message,
    "minLength": _length_message,
    "minItems": _length_message,
    "minProperties": lambda e: "needs at least one entry",
    "minimum": lambda e: f"must be at least {e.validator_value}, got {_number(e.instance)}",
    "maximum": lambda e: f"must be at most {e.validator_value}, got {_number(e.instance)}",
    "exclusiveMinimum": lambda e: (
        f"must be more than {e.validator_value}, got {_number(e.instance)}"
    ),
    "uniqueItems": lambda e: "has duplicate entries",
    "oneOf": _alternatives_message,
}
