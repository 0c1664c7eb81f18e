"""What the DDPM and text-encoder scripts share on the command line: the config, with a YAML file that does
not parse reported as one ``ConfigError`` line naming the file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import yaml

from stackgan_hf.config import ConfigError, parse_config

ConfigT = TypeVar("ConfigT")


def parse_script_config(
    config_cls: type[ConfigT], argv: Sequence[str] | None = None, description: str | None = None
) -> ConfigT:
    """``stackgan_hf.config.parse_config``, with a YAML syntax error as a ``ConfigError`` naming the file
    and the line."""
    try:
        return parse_config(config_cls, argv, description=description)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{mark.name}, line {mark.line + 1}" if mark is not None else "the config file"
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML ({problem}).") from None
