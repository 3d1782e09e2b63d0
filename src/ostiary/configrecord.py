"""The configuration's typed records: one way to declare and validate every section.

Every section of the configuration, and every built-in inspection's options, is a `Record`
subclass in config.py, and unknown keys are refused. Validation has one interface (`validate`)
and two engines behind it, because loading pydantic at every start would cost a gateway a large
share of its memory budget and a start-up a desktop host notices (docs/performance.md), for a
configuration that is small and almost always right.

A record first checks what it is given against its annotations, converting nothing: a `str`
must be a `str`, an `int` an `int` (a `float` field also takes an `int`, as pydantic does), a
key must be a known field, a bound must hold, the record's own checks must pass. Anything else
(a value to convert, an unknown key, a failed bound or check) goes to pydantic models built from
the same records on first need, so conversions and error messages are exactly pydantic's, and a
direct construction still raises pydantic's `ValidationError`.

A record declares fields like a dataclass (`name: str = "x"`, `field(default_factory=list,
metadata={"gt": 0})`); `check()` is its validator after the fields (pydantic's model validator)
and `FIELD_CHECKS` holds validators of single fields.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import types
import typing
from collections.abc import Callable
from dataclasses import field
from typing import Any, ClassVar, Literal, Self, TypeVar, dataclass_transform

__all__ = ["Record", "extra_of", "field", "fields_of", "pydantic_model", "validate_with_pydantic"]

BOUNDS = ("gt", "ge", "le")
R = TypeVar("R", bound="Record")


class _Defer(Exception):
    """The fast path cannot vouch for this input: pydantic decides."""


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    annotation: Any
    default: Any
    factory: Callable[[], Any] | None
    bounds: dict[str, float]

    def default_value(self) -> Any:
        return self.factory() if self.factory is not None else self.default


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
class Record:
    """A frozen, validated record; subclasses declare fields and, optionally, checks."""

    EXTRA_ALLOWED: ClassVar[bool] = False
    FIELD_CHECKS: ClassVar[dict[str, Callable[[Any], None]]] = {}
    _spec: ClassVar[dict[str, _Field] | None] = None
    _model: ClassVar[Any] = None

    def __init__(self, **data: Any) -> None:
        _fill(self, *_read(type(self), data))

    @classmethod
    def validate(cls, data: Any) -> Self:
        """A record from plain data (parsed YAML or JSON); raises pydantic's ValidationError."""
        made = cls.__new__(cls)
        _fill(made, *_read(cls, data))
        return made

    def check(self) -> None:
        """Validation across fields, after each field is valid; raises ValueError."""

    def changed(self) -> dict[str, Any]:
        """The fields that differ from their defaults, records as dicts (pydantic's
        `model_dump(exclude_defaults=True)`)."""
        out: dict[str, Any] = {}
        for spec in _spec_of(type(self)).values():
            value = getattr(self, spec.name)
            if value != spec.default_value():
                out[spec.name] = _dump(value, changed=True)
        return out | _extra(self)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        names = _spec_of(type(self))
        return all(getattr(self, n) == getattr(other, n) for n in names) and _extra(self) == _extra(other)

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, n) for n in _spec_of(type(self)))))

    def __repr__(self) -> str:
        shown = [f"{n}={getattr(self, n)!r}" for n in _spec_of(type(self))]
        shown += [f"{k}={v!r}" for k, v in _extra(self).items()]
        return f"{type(self).__name__}({', '.join(shown)})"


def _read(cls: type[Record], data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        return _fast(cls, data)
    except _Defer:
        return _slow(cls, data)


def _fill(record: Record, values: dict[str, Any], extra: dict[str, Any]) -> None:
    for name, value in values.items():
        object.__setattr__(record, name, value)
    object.__setattr__(record, "_extra", extra)


def _extra(record: Record) -> dict[str, Any]:
    """The keys a record that allows extras was given beyond its fields (pydantic's `model_extra`)."""
    found: dict[str, Any] = record.__dict__["_extra"]
    return found


def extra_of(record: Record) -> dict[str, Any]:
    return dict(_extra(record))


def fields_of(cls: type[Record]) -> dict[str, Any]:
    """A record's field names and their annotations."""
    return {name: spec.annotation for name, spec in _spec_of(cls).items()}


def _spec_of(cls: type[Record]) -> dict[str, _Field]:
    found = cls.__dict__.get("_spec")
    if found is None:
        hints = typing.get_type_hints(cls)
        found = {}
        for name, annotation in hints.items():
            if name.startswith("_") or typing.get_origin(annotation) is ClassVar:
                continue
            declared = cls.__dict__.get(name, getattr(cls, name, dataclasses.MISSING))
            if isinstance(declared, dataclasses.Field):
                factory = (
                    None if declared.default_factory is dataclasses.MISSING else declared.default_factory
                )
                bounds = {k: v for k, v in declared.metadata.items() if k in BOUNDS}
                found[name] = _Field(name, annotation, declared.default, factory, bounds)
            else:
                found[name] = _Field(name, annotation, declared, None, {})
        cls._spec = found
    return found


# ---------------------------------------------------------------- the fast path: no conversions


def _fast(cls: type[Record], data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if type(data) is not dict or any(type(k) is not str for k in data):
        raise _Defer
    spec = _spec_of(cls)
    extra = {k: v for k, v in data.items() if k not in spec}
    if extra and not cls.EXTRA_ALLOWED:
        raise _Defer
    values: dict[str, Any] = {}
    for name, f in spec.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.factory is None:
                raise _Defer
            values[name] = f.default_value()
            continue
        value = _value(f.annotation, data[name])
        for bound, limit in f.bounds.items():
            if value is not None and not _within(bound, value, limit):
                raise _Defer
        checker = cls.FIELD_CHECKS.get(name)
        if checker is not None:
            try:
                checker(value)
            except ValueError:
                raise _Defer from None
        values[name] = value
    probe = cls.__new__(cls)
    _fill(probe, values, extra)
    try:
        probe.check()
    except ValueError:
        raise _Defer from None
    return values, extra


def _within(bound: str, value: Any, limit: float) -> bool:
    if bound == "gt":
        return bool(value > limit)
    if bound == "ge":
        return bool(value >= limit)
    return bool(value <= limit)


def _value(annotation: Any, value: Any) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if annotation in (str, int, bool):
        if type(value) is not annotation:
            raise _Defer
        return value
    if annotation is float:
        if type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        raise _Defer
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        # A member from its value, the one form YAML can give (pydantic's conversion too).
        if isinstance(value, annotation):
            return value
        if type(value) is str and value in annotation._value2member_map_:
            return annotation._value2member_map_[value]
        raise _Defer
    if isinstance(annotation, type) and issubclass(annotation, Record):
        if isinstance(value, annotation):
            return value
        # Nested data is checked here too: if pydantic must decide, it decides for the whole
        # input, so that its errors carry their full location.
        made = annotation.__new__(annotation)
        _fill(made, *_fast(annotation, value))
        return made
    if origin is Literal:
        if type(value) is str and value in args:
            return value
        raise _Defer
    if origin in (types.UnionType, typing.Union):
        if value is None:
            if type(None) in args:
                return None
            raise _Defer
        for inner in args:
            if inner is type(None):
                continue
            try:
                return _value(inner, value)
            except _Defer:
                continue
        raise _Defer
    if origin is list:
        if type(value) is not list:
            raise _Defer
        return [_value(args[0], item) for item in value]
    if origin is dict:
        if type(value) is not dict or any(type(k) is not str for k in value):
            raise _Defer
        return {k: _value(args[1], v) for k, v in value.items()}
    raise _Defer


# ---------------------------------------------------------------- the slow path: pydantic


def validate_with_pydantic(cls: type[R], data: Any) -> R:
    """What pydantic alone makes of `data`: the reference the fast path is tested against."""
    made = cls.__new__(cls)
    _fill(made, *_slow(cls, data))
    return made


def pydantic_model(cls: type[Record]) -> Any:
    """The pydantic model equivalent to `cls`, for a JSON Schema (loads pydantic)."""
    return _model_of(cls)


def _slow(cls: type[Record], data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    instance = _model_of(cls).model_validate(_dump(data, changed=False))
    return _from_model(cls, instance)


def _from_model(cls: type[Record], instance: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    values = {name: _record_values(getattr(instance, name)) for name in _spec_of(cls)}
    return values, dict(instance.model_extra or {})


def _record_values(value: Any) -> Any:
    record = getattr(type(value), "__ostiary_record__", None)
    if record is not None:
        made = record.__new__(record)
        _fill(made, *_from_model(record, value))
        return made
    if isinstance(value, list):
        return [_record_values(v) for v in value]
    if isinstance(value, dict):
        return {k: _record_values(v) for k, v in value.items()}
    return value


def _dump(value: Any, changed: bool) -> Any:
    """Records inside `value` as dicts, for pydantic's input or for `changed()`."""
    if isinstance(value, Record):
        if changed:
            return value.changed()
        return {n: _dump(getattr(value, n), changed) for n in _spec_of(type(value))} | _extra(value)
    if isinstance(value, list):
        return [_dump(v, changed) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v, changed) for k, v in value.items()}
    return value


def _model_of(cls: type[Record]) -> Any:
    """The pydantic model equivalent to `cls`, built on first need."""
    model = cls.__dict__.get("_model")
    if model is not None:
        return model
    pydantic: Any = importlib.import_module("pydantic")  # only when the fast path cannot decide

    fields: dict[str, Any] = {}
    for name, f in _spec_of(cls).items():
        if f.factory is not None:
            info = pydantic.Field(default_factory=f.factory, **f.bounds)
        elif f.default is not dataclasses.MISSING:
            info = pydantic.Field(default=f.default, **f.bounds)
        else:
            info = pydantic.Field(**f.bounds)
        fields[name] = (_model_annotation(f.annotation), info)
    validators: dict[str, Any] = {
        f"_check_{name}": pydantic.field_validator(name)(_field_check(checker))
        for name, checker in cls.FIELD_CHECKS.items()
    }
    if cls.check is not Record.check:
        validators["_check"] = pydantic.model_validator(mode="after")(_model_check(cls))
    model = pydantic.create_model(
        cls.__name__,
        __config__=pydantic.ConfigDict(extra="allow" if cls.EXTRA_ALLOWED else "forbid", frozen=True),
        __validators__=validators,
        **fields,
    )
    model.__ostiary_record__ = cls
    cls._model = model
    return model


def _field_check(checker: Callable[[Any], None]) -> Any:
    def run(_model: Any, value: Any) -> Any:
        checker(value)
        return value

    return classmethod(run)


def _model_check(cls: type[Record]) -> Callable[[Any], Any]:
    def run(instance: Any) -> Any:
        cls.check(instance)  # a record's check reads fields only, which the model has too
        return instance

    return run


def _model_annotation(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, Record):
        return _model_of(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list:
        return types.GenericAlias(list, (_model_annotation(args[0]),))
    if origin is dict:
        return types.GenericAlias(dict, (args[0], _model_annotation(args[1])))
    if origin in (types.UnionType, typing.Union):
        mapped = tuple(_model_annotation(a) for a in args)
        return typing.Union[mapped]  # noqa: UP007
    return annotation
