"""Run-time knobs as ``dg.Config`` classes derived from the core's parameter dataclasses.

The core states each knob once: a field of a frozen dataclass (``PlanParameters``, ...) with its default
and validation, and a description. ``config_class`` makes the ``dg.Config`` the UI's launchpad shows from
that statement, so a default or a description is never restated in the shell. Tuples become lists (run
config has no tuples) and back; ``parameters()`` builds the dataclass, whose ``__post_init__`` validates.

With ``env_prefix`` (e.g. ``INVENTORY_PLAN_``) a field's *default* is the value of the environment variable
``<prefix><FIELD NAME IN CAPITALS>`` (``INVENTORY_PLAN_BUDGET``) when it is set, read when the class is
made, that is when the code location loads its definitions. The run config's default is then the one
source of a knob for every launch path (the Launchpad and "Materialize all", ``dagster asset materialize``,
``dg launch``, the sensor, the schedule, ``runs.execute``); a run's own config still overrides it. The text
is parsed into the field's type (numbers, ``true``/``false``, lists from comma-separated text or JSON,
``null`` for an optional field; an empty value means unset) and the dataclass validates the result, so a
bad value fails the load with an error naming the variable. :func:`environment_table` lists the
variables for the docs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import dagster as dg
import pydantic

NULL_TEXTS = frozenset({"null", "none"})
"""Environment texts (any case) meaning ``None`` for an optional field; refused for any other field."""


class EnvironmentDefaultError(ValueError):
    """An environment variable holds no valid value for the knob it sets (fails the definitions' load)."""


class ParametersConfig(dg.Config):
    """A ``dg.Config`` mirroring one parameter dataclass (made by :func:`config_class`)."""

    parameters_type: ClassVar[type[Any]]
    env_prefix: ClassVar[str | None] = None
    #: Each field's description as the dataclass states it (without the variable's sentence).
    field_docs: ClassVar[dict[str, str]] = {}
    #: The fields whose default came from the environment, with the variable's raw text.
    environment_defaults: ClassVar[dict[str, str]] = {}

    def parameters(self) -> Any:
        """The core's parameter dataclass with these values (its own checks run)."""
        hints = typing.get_type_hints(self.parameters_type)
        values = {
            name: tuple(value) if typing.get_origin(hints[name]) is tuple else value
            for name, value in self.model_dump().items()
        }
        return self.parameters_type(**values)


def _config_annotation(annotation: Any) -> Any:
    """``tuple[X, ...]`` becomes ``list[X]``; everything else is kept."""
    if typing.get_origin(annotation) is tuple:
        return list[typing.get_args(annotation)[0]]  # type: ignore[misc]
    return annotation


def _optional_inner(annotation: Any) -> tuple[bool, Any]:
    """``(True, X)`` for ``X | None``, ``(False, annotation)`` otherwise."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return True, args[0]
    return False, annotation


_TYPE_WORDS = {float: "a number", int: "a whole number", bool: "true or false", str: "text"}
_PLURAL_WORDS = {float: "numbers", int: "whole numbers", bool: "true/false values", str: "text values"}


def expected_text(annotation: Any) -> str:
    """What an environment variable for a field of this (config) type must hold, in words."""
    optional, inner = _optional_inner(annotation)
    if typing.get_origin(inner) is list:
        item = typing.get_args(inner)[0]
        words = f"a comma-separated list of {_PLURAL_WORDS.get(item, getattr(item, '__name__', str(item)))}"
    else:
        words = _TYPE_WORDS.get(inner, getattr(inner, "__name__", str(inner)))
    return f"{words} or null" if optional else words


def env_var_name(prefix: str, field_name: str) -> str:
    """The variable setting ``field_name``'s default: ``INVENTORY_PLAN_`` + ``budget`` is ``INVENTORY_PLAN_BUDGET``."""
    return f"{prefix}{field_name.upper()}"


def parse_env_value(var: str, text: str, annotation: Any) -> Any:
    """``text`` (non-empty) as a value of ``annotation``, or :class:`EnvironmentDefaultError` naming ``var``."""
    optional, inner = _optional_inner(annotation)
    stripped = text.strip()
    if stripped.lower() in NULL_TEXTS:
        if optional:
            return None
        raise EnvironmentDefaultError(
            f"{var}={text!r}: expected {expected_text(annotation)} (this knob cannot be null)"
        )
    value: Any = stripped
    if typing.get_origin(inner) is list:
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError:
                raise EnvironmentDefaultError(
                    f"{var}={text!r}: expected {expected_text(annotation)} (or a JSON list)"
                ) from None
        else:
            value = [item.strip() for item in stripped.split(",") if item.strip()]
    try:
        return pydantic.TypeAdapter(inner).validate_python(value)
    except pydantic.ValidationError:
        raise EnvironmentDefaultError(f"{var}={text!r}: expected {expected_text(annotation)}") from None


def config_class(
    name: str,
    parameters_type: type[Any],
    docs: Mapping[str, str] | None = None,
    *,
    doc: str,
    env_prefix: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> type[ParametersConfig]:
    """A ``dg.Config`` subclass named ``name`` with one field per field of ``parameters_type``.

    Each field's default is the dataclass's default and its description ``docs[field]``, by default the
    field's own ``metadata["doc"]``; a field without a description is an error (every knob the UI shows
    must say what it does). With ``env_prefix``, a field's default is the value of the variable
    ``env_var_name(env_prefix, field)`` in ``environ`` (default: the process's environment, now) when it is
    set and not empty, and its description names that variable; a value that does not parse, or that the
    dataclass refuses, raises :class:`EnvironmentDefaultError` naming the variable.
    """
    if not dataclasses.is_dataclass(parameters_type):
        raise TypeError(f"{parameters_type!r} is not a dataclass")
    if docs is None:
        docs = {f.name: f.metadata["doc"] for f in dataclasses.fields(parameters_type) if "doc" in f.metadata}
    env = os.environ if environ is None else environ
    hints = typing.get_type_hints(parameters_type)
    defaults = parameters_type()
    fields: dict[str, Any] = {}
    from_env: dict[str, str] = {}
    for field in dataclasses.fields(parameters_type):
        if field.name not in docs:
            raise ValueError(f"{parameters_type.__name__}.{field.name} has no description")
        annotation = _config_annotation(hints[field.name])
        default = getattr(defaults, field.name)
        if isinstance(default, tuple):
            default = list(default)
        description = docs[field.name]
        if env_prefix is not None:
            var = env_var_name(env_prefix, field.name)
            description = f"{description} The environment variable {var}, when set, replaces this default."
            text = env.get(var)
            if text is not None and text.strip():
                default = parse_env_value(var, text, annotation)
                from_env[field.name] = text
        fields[field.name] = (annotation, pydantic.Field(default=default, description=description))
    config: type[ParametersConfig] = pydantic.create_model(
        name, __base__=ParametersConfig, __doc__=doc, __module__=__name__, **fields
    )
    config.parameters_type = parameters_type
    config.env_prefix = env_prefix
    config.field_docs = {f.name: docs[f.name] for f in dataclasses.fields(parameters_type)}
    config.environment_defaults = from_env
    if env_prefix is not None and from_env:  # the dataclass's own rules (ranges, ...) on the environment's values
        try:
            config().parameters()
        except (TypeError, ValueError) as error:
            names = ", ".join(f"{env_var_name(env_prefix, f)}={t!r}" for f, t in from_env.items())
            raise EnvironmentDefaultError(f"{names}: refused by {parameters_type.__name__}: {error}") from None
    return config


def _markdown_default(value: Any) -> str:
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (tuple, list)):
        return f"`{','.join(str(v) for v in value)}`" if value else "`[]`"
    return f"`{value!r}`" if isinstance(value, str) else f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def environment_table(configs: Iterable[type[ParametersConfig]]) -> str:
    """A markdown table of the variables that set the defaults of ``configs`` (made with ``env_prefix``).

    One row per field: the variable, the knob (``Config.field``), the dataclass's default (not the
    environment's), what the variable must hold, and the field's description. ``docs/operations.md`` holds
    this table; a test keeps the two equal.
    """
    lines = ["| variable | knob | default | value | meaning |", "|---|---|---|---|---|"]
    for config in configs:
        if config.env_prefix is None:
            raise ValueError(f"{config.__name__} reads no environment variables (made without env_prefix)")
        hints = typing.get_type_hints(config.parameters_type)
        defaults = config.parameters_type()
        for field in dataclasses.fields(config.parameters_type):
            meaning = config.field_docs[field.name].replace("|", "\\|")
            lines.append(
                f"| `{env_var_name(config.env_prefix, field.name)}` | `{config.__name__}.{field.name}` "
                f"| {_markdown_default(getattr(defaults, field.name))} "
                f"| {expected_text(_config_annotation(hints[field.name]))} | {meaning} |"
            )
    return "\n".join(lines) + "\n"
