"""Config: the schema, the loader, and the conversion to core rules."""

from .convert import to_rules
from .load import ConfigError, load_config, parse_config, secrets_of
from .schema import Config

__all__ = ["Config", "ConfigError", "load_config", "parse_config", "secrets_of", "to_rules"]
