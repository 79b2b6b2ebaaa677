"""The configuration file: YAML, `${VAR}` taken from the environment, validated by pydantic.

Secrets are `SecretStr`, so printing or logging a config never shows them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.crontab import CronError, parse_cron

CONFIG_ENV = "PIAZZABOT_CONFIG"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Section(BaseModel):
    """Every section refuses unknown keys, so a typo is reported instead of ignored."""

    model_config = ConfigDict(extra="forbid")


class DatabaseConfig(Section):
    url: str = "sqlite+aiosqlite:///piazzabot.db"

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB"
            )
        return url


class StaffConfig(Section):
    """Global staff, by platform user id."""

    telegram: list[str] = Field(default_factory=list)
    matrix: list[str] = Field(default_factory=list)
    console: list[str] = Field(default_factory=list)

    @field_validator("telegram", "matrix", "console", mode="before")
    @classmethod
    def _as_strings(cls, ids: Any) -> Any:
        return [str(i) for i in ids] if isinstance(ids, list) else ids

    def ids(self, platform: str) -> list[str]:
        return list(getattr(self, platform, []))


class ConsoleConfig(Section):
    enabled: bool = True


class WebhookConfig(Section):
    listen: str = "127.0.0.1"
    port: int = 8443
    url: str | None = None
    secret_token: SecretStr | None = None


class TelegramConfig(Section):
    enabled: bool = False
    token: SecretStr | None = None
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    admin_cache_seconds: int = Field(default=300, ge=0)

    @model_validator(mode="after")
    def _needs_token(self) -> TelegramConfig:
        if self.enabled and not (self.token and self.token.get_secret_value()):
            raise ValueError("token: required when telegram is enabled")
        if self.enabled and self.mode == "webhook":
            hook = self.webhook
            if not hook.url:
                raise ValueError("webhook.url: required in webhook mode")
            if not hook.url.startswith("https://"):
                raise ValueError("webhook.url: Telegram calls only https:// addresses")
            secret = hook.secret_token.get_secret_value() if hook.secret_token else ""
            if not _WEBHOOK_SECRET.fullmatch(secret):
                raise ValueError("webhook.secret_token: required in webhook mode, 1-256 of "
                                 "A-Z a-z 0-9 _ - (requests without it are refused)")
        return self


class MatrixConfig(Section):
    enabled: bool = False
    homeserver: str = "https://matrix.example.org"
    user_id: str = "@piazzabot:example.org"
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_id: str = "PIAZZABOT"
    allowed_servers: list[str] = Field(default_factory=list)
    encryption: bool = True
    store_path: str = "data/matrix-store"
    facilitator_power_level: int = 50

    @model_validator(mode="after")
    def _needs_credentials(self) -> MatrixConfig:
        has = any(s and s.get_secret_value() for s in (self.password, self.access_token))
        if self.enabled and not has:
            raise ValueError("password or access_token: one is required when matrix is enabled")
        return self


class IdeasConfig(Section):
    # Suggested themes, from the cooperative's working groups; other hashtags are allowed.
    themes: list[str] = Field(default_factory=lambda: [
        "bandi", "formazione", "networking", "servizi", "governance", "spazi"])
    daily_limit: int = Field(default=5, ge=1)  # ideas one member may submit per day
    report_threshold: int = Field(default=3, ge=1)  # distinct reports that hide an idea


class DigestConfig(Section):
    territory: str = "0 9 * * MON"
    staff: str = "0 8 * * *"
    staff_weekly: str = "0 8 * * MON"  # the fuller staff digest; replaces the daily one then
    empty: Literal["skip", "line"] = "skip"  # an empty period: send nothing, or one line

    @field_validator("territory", "staff", "staff_weekly")
    @classmethod
    def _valid_cron(cls, expr: str) -> str:
        try:
            parse_cron(expr)
        except CronError as exc:
            raise ValueError(str(exc)) from None
        return expr


class LoggingConfig(Section):
    """`json`: one JSON object a line, for a log collector; `text`: lines for a person."""

    format: Literal["json", "text"] = "json"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class HealthConfig(Section):
    enabled: bool = True
    listen: str = "127.0.0.1"
    port: int = Field(default=9310, ge=0, le=65535)


class LimitsConfig(Section):
    commands_per_minute: int = Field(default=20, ge=1)  # per member, across all chats


class Config(Section):
    locale: Literal["it", "en"] = "it"
    timezone: str = "Europe/Rome"
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    staff: StaffConfig = Field(default_factory=StaffConfig)
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    matrix: MatrixConfig = Field(default_factory=MatrixConfig)
    ideas: IdeasConfig = Field(default_factory=IdeasConfig)
    digests: DigestConfig = Field(default_factory=DigestConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    retention_days: int = Field(default=30, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (example: Europe/Rome)") from None
        return name


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists `key: what is wrong` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _expand_env(node: Any, path: str, missing: list[str]) -> Any:
    if isinstance(node, dict):
        return {key: _expand_env(value, f"{path}.{key}" if path else str(key), missing)
                for key, value in node.items()}
    if isinstance(node, list):
        return [_expand_env(v, f"{path}[{i}]", missing) for i, v in enumerate(node)]
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                missing.append(f"{path}: environment variable {name} is not set")
                return ""
            return os.environ[name]

        return _ENV_REF.sub(substitute, node)
    return node


def _describe(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{key}: {message}" if key else message)
    return problems


def parse_config(data: Any) -> Config:
    """Validate already-loaded YAML data (with `${VAR}` references still in it)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(["the file must be a mapping of keys (see config.example.yaml)"])
    missing: list[str] = []
    expanded = _expand_env(data, "", missing)
    # A variable that is not set only matters if its section is used; enabled sections
    # report it below through their own validation (an empty token, say).
    try:
        config = Config.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(_describe(exc) + _relevant(missing, expanded)) from None
    return config


def _relevant(missing: list[str], data: dict[str, Any]) -> list[str]:
    def enabled(section: str) -> bool:
        value = data.get(section)
        return isinstance(value, dict) and bool(value.get("enabled"))

    return [m for m in missing if enabled(m.split(".", 1)[0])]


def load_config(path: str | Path | None = None) -> Config:
    """Load the file named by `path`, else by $PIAZZABOT_CONFIG, else the defaults."""
    path = path or os.environ.get(CONFIG_ENV)
    if not path:
        return Config()
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{file}: cannot be read ({exc.strerror})"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{file}: not valid YAML ({exc})"]) from None
    return parse_config(data)
