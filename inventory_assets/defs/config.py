"""Run-time knobs as ``dg.Config`` classes derived from the core's parameter dataclasses.

The core states each knob once: a field of a frozen dataclass (``PlanParameters``, ...) with its default
and validation, and a description. ``config_class`` makes the ``dg.Config`` the UI's launchpad shows from
that statement, so a default or a description is never restated in the shell. Tuples become lists (run
config has no tuples) and back; ``parameters()`` builds the dataclass, whose ``__post_init__`` validates.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, ClassVar

import dagster as dg
import pydantic


class ParametersConfig(dg.Config):
    """A ``dg.Config`` mirroring one parameter dataclass (made by :func:`config_class`)."""

    parameters_type: ClassVar[type[Any]]

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


def config_class(
    name: str, parameters_type: type[Any], docs: Mapping[str, str] | None = None, *, doc: str
) -> type[ParametersConfig]:
    """A ``dg.Config`` subclass named ``name`` with one field per field of ``parameters_type``.

    Each field's default is the dataclass's default and its description ``docs[field]``, by default the
    field's own ``metadata["doc"]``; a field without a description is an error (every knob the UI shows
    must say what it does).
    """
    if docs is None:
        docs = {f.name: f.metadata["doc"] for f in dataclasses.fields(parameters_type) if "doc" in f.metadata}
    if not dataclasses.is_dataclass(parameters_type):
        raise TypeError(f"{parameters_type!r} is not a dataclass")
    hints = typing.get_type_hints(parameters_type)
    defaults = parameters_type()
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(parameters_type):
        if field.name not in docs:
            raise ValueError(f"{parameters_type.__name__}.{field.name} has no description")
        default = getattr(defaults, field.name)
        if isinstance(default, tuple):
            default = list(default)
        fields[field.name] = (
            _config_annotation(hints[field.name]),
            pydantic.Field(default=default, description=docs[field.name]),
        )
    config: type[ParametersConfig] = pydantic.create_model(
        name, __base__=ParametersConfig, __doc__=doc, __module__=__name__, **fields
    )
    config.parameters_type = parameters_type
    return config
