"""Configuration: embedded defaults, an optional YAML file, CLI overrides.

Every key is declared once here (name, default, description); `maelstrom.yaml.example`
documents the same keys and a test keeps the two in step. A wrong key or value stops
the start with a message that names the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigError(Exception):
    """The configuration file or an override is invalid; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
    address: str = Field("0.0.0.0", description="Interface to listen on ('' or 0.0.0.0 = all).")
    port: int = Field(8888, ge=0, le=65535, description="HTTP and WebSocket port (0 = any free port).")
    shutdown_timeout_s: float = Field(
        8.0, gt=0, le=60, description="Longest a clean stop may take before the process exits."
    )


class StorageConfig(_Section):
    data_dir: Path = Field(Path("data"), description="Runtime state: database, secrets, backups.")
    db_url: str | None = Field(
        None,
        pattern=r"^(sqlite|postgres|postgresql|postgresql\+psycopg)://",
        description="SQLAlchemy URL; default is SQLite at <data_dir>/db. sqlite:///path or postgresql://...",
    )


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe level written to the log."
    )


class PubSubConfig(_Section):
    history_size: int = Field(100, ge=0, le=100_000, description="Messages kept per channel for resume.")
    history_age_s: float = Field(
        300.0, ge=0, description="Oldest message kept per channel for resume, in seconds."
    )
    max_queue_bytes: int = Field(
        1024 * 1024,
        ge=4096,
        description="Unsent data above which a client is closed with 4008 (slow consumer).",
    )
    max_subscriptions: int = Field(
        256, ge=1, le=100_000, description="Subscriptions per connection (more closes with 4009)."
    )
    max_channels: int = Field(
        10_000,
        ge=16,
        description="Channels with messages; outside publications to a new one beyond are refused "
        "(the server's own never are).",
    )
    max_empty_channels: int = Field(
        1000,
        ge=16,
        description="Channels subscribed to that nothing was published on yet; subscribing to "
        "a new one beyond is refused.",
    )
    max_hub_bytes: int = Field(
        16 * 1024 * 1024,
        ge=64 * 1024,
        description="Encoded JSON the hub holds in history rings and retained values; the oldest "
        "history goes first beyond it.",
    )
    max_frame_bytes: int = Field(
        64 * 1024, ge=1024, le=16 * 1024 * 1024, description="Largest inbound WebSocket message."
    )
    max_publish_bytes: int = Field(256 * 1024, ge=1024, description="Largest HTTP publish body (413 above).")
    ping_interval_s: float = Field(25.0, gt=0, description="Server sends a WebSocket ping this often.")
    silence_timeout_s: float = Field(
        60.0, gt=0, description="A connection silent this long is closed with 4012."
    )


class ControlConfig(_Section):
    sample_on_first_start: bool = Field(
        True, description="On an empty database, create a simulated fermenter running a sample ale profile."
    )


class IngestConfig(_Section):
    enabled: bool = Field(True, description="Listen for the TCP line protocol (HTTP feeds are always on).")
    address: str | None = Field(
        None, description="Interface for the line protocol; null = the same as server.address."
    )
    port: int = Field(1025, ge=0, le=65535, description="TCP port of the line protocol (0 = any free port).")
    require_token: bool = Field(
        True, description="Lines are refused until the connection sends AUTH <token> (an API token)."
    )
    max_line_bytes: int = Field(
        1024, ge=64, le=65536, description="Longest line; a longer one gets a last ERR and is cut off."
    )
    rate_per_s: float = Field(
        50.0, gt=0, description="Lines per second a connection may send on average (token bucket)."
    )
    burst: int = Field(
        200, ge=1, description="Lines a connection may send at once above the rate; beyond, it is cut off."
    )
    max_connections: int = Field(
        32, ge=1, le=10_000, description="Line protocol connections at once; more are refused with ERR."
    )
    max_series: int = Field(
        1000, ge=1, description="Distinct series accepted since start, over TCP and HTTP together."
    )


class Config(_Section):
    server: ServerConfig = ServerConfig()
    storage: StorageConfig = StorageConfig()
    logging: LoggingConfig = LoggingConfig()
    pubsub: PubSubConfig = PubSubConfig()
    control: ControlConfig = ControlConfig()
    ingest: IngestConfig = IngestConfig()


# CLI flag -> dotted config key; the flags in maelstrom.py are built from this table.
CLI_OVERRIDES: dict[str, str] = {
    "port": "server.port",
    "address": "server.address",
    "data_dir": "storage.data_dir",
    "db_url": "storage.db_url",
    "log_level": "logging.level",
}


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key")
        else:
            lines.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
    return "; ".join(lines)


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    section, key = dotted.split(".")
    node = tree.setdefault(section, {})
    if not isinstance(node, dict):
        raise ConfigError(f"{section}: must be a mapping")
    node[key] = value


def build_config(raw: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Validate a raw mapping (as read from YAML) plus CLI overrides into a Config."""
    tree: dict[str, Any] = dict(raw or {})
    for name, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(tree, CLI_OVERRIDES[name], value)
    try:
        return Config.model_validate(tree)
    except ValidationError as error:
        raise ConfigError(f"invalid configuration: {_describe(error)}") from None


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Read the YAML file at `path` (if any), apply overrides and validate."""
    raw: Any = {}
    if path is not None:
        import yaml  # only with a config file: the default start (and the systemd unit) has none

        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {path}: the top level must be a mapping of sections")
    return build_config(raw, overrides)


def documented_keys() -> list[tuple[str, Any, str]]:
    """Every config key as (dotted name, default, description), in declaration order."""
    rows = []
    for section_name, section_field in Config.model_fields.items():
        section_model = section_field.annotation
        for key, field in section_model.model_fields.items():
            rows.append((f"{section_name}.{key}", field.default, field.description or ""))
    return rows
