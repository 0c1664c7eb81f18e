"""Training configuration as plain dataclasses: YAML file + ``--key value`` flags, CLI wins.

Every field is a flag of the same name, cast and checked by its type (YAML's ``1e-4`` string becomes a float);
unknown keys, wrong types and values outside a ``Literal`` are rejected by name. Fields come from
:func:`option` or :func:`at_least`, whose ``help`` is the ``--help`` line.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

ConfigT = TypeVar("ConfigT")


class InputError(ValueError):
    """Input the user can fix (a value, file or folder that cannot work): scripts report it as one
    ``error:`` line and exit code 2 (:func:`stackgan_hf.utils.cli.run_script`)."""


class ConfigError(InputError):
    """A configuration key is unknown or its value does not fit the field's type."""


def _to_number(value: Any, kind: type) -> int | float | None:
    """``value`` as an int or float (numbers and numeric strings such as YAML's ``"1e-4"``; an int only
    from a whole number), or None when it is not one. Booleans are not numbers here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value) if kind is float else int(value)
        except ValueError:
            return None
    if kind is float and isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return int(value)
    return None


def _cast_scalar(value: Any, kind: type, key: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "yes", "1", "false", "no", "0"}:
            return value.lower() in {"true", "yes", "1"}
        raise ConfigError(f"`{key}` must be a boolean (true/false), got {value!r}.")
    if kind in (int, float):
        number = _to_number(value, kind)
        if number is None:
            raise ConfigError(
                f"`{key}` must be {'an integer' if kind is int else 'a number'}, got {value!r}."
            )
        return number
    if kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"`{key}` must be a string, got {value!r}.")
    raise TypeError(f"Unsupported config field type {kind!r} for `{key}`.")


def cast_value(value: Any, annotation: Any, key: str) -> Any:
    """Casts ``value`` to ``annotation``: scalars, ``Literal``, ``X | None``, ``list[X]``, ``tuple``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        is_none = value is None or (isinstance(value, str) and value.lower() in {"none", "null"})
        if is_none and type(None) in args:
            return None
        others = [arg for arg in args if arg is not type(None)]
        errors = []
        for arg in others:
            try:
                return cast_value(value, arg, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if len(errors) == 1 else f"`{key}`: {value!r} fits none of {others}.")
    if origin is Literal:
        for choice in args:
            if value == choice or (isinstance(value, (str, int)) and str(choice) == str(value)):
                return choice  # YAML reads `stage: 1` as the int 1
        raise ConfigError(f"`{key}` must be one of {list(args)}, got {value!r}.")
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"`{key}` must be a list, got {value!r}.")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"`{key}` must have {len(args)} items, got {len(value)}: {value!r}.")
            return tuple(cast_value(item, arg, key) for item, arg in zip(value, args))
        item_type = args[0] if args else str
        items = [cast_value(item, item_type, key) for item in value]
        return tuple(items) if origin is tuple else items
    if value is None:
        raise ConfigError(f"`{key}` must not be empty.")
    return _cast_scalar(value, annotation, key)


def config_from_dict(config_cls: type[ConfigT], values: dict[str, Any], source: str = "config") -> ConfigT:
    """Builds ``config_cls`` from a mapping, rejecting unknown keys and ill-typed values by name."""
    return config_cls(**cast_values(config_cls, values, source))


def cast_values(config_cls: type, values: dict[str, Any], source: str = "config") -> dict[str, Any]:
    """``values`` cast to the fields' types, unknown keys and ill-typed values refused by name (``source``
    names where they came from); the fields' cross-checks (``__post_init__``) are not run."""
    hints = typing.get_type_hints(config_cls)
    names = {field.name for field in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"Unknown key(s) in {source}: {', '.join(unknown)}. Known keys: {', '.join(sorted(names))}."
        )
    kwargs = {}
    for key, value in values.items():
        try:
            kwargs[key] = cast_value(value, hints[key], key)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None
    return kwargs


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist.")
    try:
        with path.open() as handle:
            values = yaml.safe_load(handle) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise ConfigError(f"Config file {path} is not valid YAML{where}: {problem}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"Config file {path} is not a text (UTF-8) file.") from None
    if not isinstance(values, dict):
        raise ConfigError(
            f"Config file {path} must hold a mapping of keys to values, got {type(values).__name__}."
        )
    return values


_TYPE_NAMES = {int: "INT", float: "FLOAT", str: "STR"}


def _metavar(annotation: Any) -> str | None:
    """What ``--help`` shows as a flag's value: a ``Literal``'s choices (and ``none`` when it is optional),
    ``{true,false}`` for a boolean, ``INT``, ``FLOAT`` or ``STR``, and ``A,B`` for a list or tuple."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    optional = typing.get_origin(annotation) in (Union, types.UnionType) and len(args) == 1
    inner = args[0] if optional else annotation
    origin = typing.get_origin(inner)
    if origin is Literal:
        choices = [str(choice) for choice in typing.get_args(inner)] + (["none"] if optional else [])
        return "{" + ",".join(choices) + "}"
    if inner is bool:
        return "{true,false}"
    if origin in (list, tuple):
        items = typing.get_args(inner) or (str,)
        if items[-1] is Ellipsis or origin is list:
            return f"{_metavar(items[0])},..."
        return ",".join(_metavar(item) or "X" for item in items)
    return _TYPE_NAMES.get(inner)


def _shown(value: Any) -> str:
    """A default as it would be typed on the command line: ``true``, ``none``, ``0.5,0.999``, ``''``."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return ",".join(_shown(item) for item in value) or "''"
    return str(value) if value != "" else "''"


def config_parser(config_cls: type, description: str | None = None) -> argparse.ArgumentParser:
    """The ``argparse`` parser of ``config_cls``: ``--config FILE.yaml`` and one ``--name`` flag per field,
    each with the field's help, choices and default; a boolean flag alone means true. Values stay strings
    here: :func:`config_from_dict` casts and checks them (a bad choice is a ``ConfigError`` naming the key,
    as it is in a YAML file)."""
    parser = argparse.ArgumentParser(
        usage="%(prog)s [-h] [--config FILE.yaml] [--name VALUE ...]",
        description=description,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE.yaml", help="YAML file with any of the keys below")
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = None
        shown = "not shown" if field.metadata.get("secret") else _shown(default)
        text = " ".join(field.metadata.get("help", "").split())
        text = f"{text} (default: {shown})" if text else f"(default: {shown})"
        # A boolean flag alone means true (`--overwrite_output_dir`), as in transformers' HfArgumentParser.
        alone = {"nargs": "?", "const": "true"} if hints[field.name] is bool else {}
        parser.add_argument(
            f"--{field.name}",
            default=argparse.SUPPRESS,
            metavar=_metavar(hints[field.name]),
            help=text.replace("%", "%%"),  # argparse %-formats help strings
            **alone,
        )
    return parser


def parse_config(
    config_cls: type[ConfigT], argv: Sequence[str] | None = None, description: str | None = None
) -> ConfigT:
    """``--config FILE.yaml`` then ``--key value`` flags (one per field); flags override the file."""
    args = vars(config_parser(config_cls, description).parse_args(argv))
    file_path = args.pop("config", None)
    values = load_yaml(file_path) if file_path else {}
    source = f"config file {file_path}" if file_path else "config"
    cast_values(config_cls, values, source)  # report the file's own errors as the file's
    values.update(args)
    return config_from_dict(config_cls, values, f"{source} + command line" if file_path else "command line")


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    minimum: int | float | None = None,
    secret: bool = False,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
) -> Any:
    """A config dataclass field with its ``default`` (or ``default_factory``) and ``help`` (the flag's
    ``--help`` line). ``minimum``: a lower bound for the value (or each number of a list), checked by
    :func:`check_bounds` in ``__post_init__``. ``secret`` (a token): :func:`config_to_dict` leaves it out of
    summaries, model cards and trackers."""
    metadata: dict[str, Any] = {"help": help}
    if minimum is not None:
        metadata["at_least"] = minimum
    if secret:
        metadata["secret"] = True
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def at_least(minimum: int | float, default: Any, help: str = "") -> Any:
    """:func:`option` with a ``minimum``: a field with ``default`` whose value (a number, each number of a
    list, or None: not set) must be at least ``minimum``; the config's ``__post_init__`` checks it with
    :func:`check_bounds`."""
    return option(default, help, minimum=minimum)


def check_bounds(config: Any) -> None:
    """Raises ``ConfigError`` naming the first :func:`at_least` field of ``config`` whose value is below its
    minimum, e.g. ``--train_batch_size 0``, before any data is read."""
    for field in dataclasses.fields(config):
        if "at_least" not in field.metadata:
            continue
        minimum, value = field.metadata["at_least"], getattr(config, field.name)
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(item is not None and item < minimum for item in values):
            raise ConfigError(f"`{field.name}` must be at least {minimum}, got {value!r}.")


def config_to_dict(config: Any) -> dict[str, Any]:
    """A YAML-safe dict of a config dataclass (tuples become lists), without its secret fields (a token)."""

    def plain(value):
        return [plain(item) for item in value] if isinstance(value, (list, tuple)) else value

    secret = {field.name for field in dataclasses.fields(config) if field.metadata.get("secret")}
    return {key: plain(value) for key, value in dataclasses.asdict(config).items() if key not in secret}
