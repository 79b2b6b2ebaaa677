"""The configuration file: defaults, environment variables, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return caught.value.problems


def test_defaults_need_no_file() -> None:
    config = parse_config(None)
    assert config.locale == "it"
    assert config.timezone == "Europe/Rome"
    assert config.database.url.startswith("sqlite+aiosqlite://")
    assert config.console.enabled and not config.telegram.enabled


def test_example_file_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    config = load_config(EXAMPLE)
    assert config.digests.territory == "0 9 * * MON"


def test_errors_name_the_key() -> None:
    found = problems({"locale": "fr", "timezone": "Europe/Atlantis", "databse": {},
                      "digests": {"staff": "every day"}, "telegram": {"enabled": True}})
    text = "\n".join(found)
    assert "locale: Input should be 'it' or 'en'" in text
    assert "timezone: unknown time zone 'Europe/Atlantis'" in text
    assert "databse: unknown key" in text
    assert "digests.staff: a schedule has five fields" in text
    assert "telegram: token: required when telegram is enabled" in text


def test_environment_variables_are_substituted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_TOKEN", "123:hunter2")
    config = parse_config({"telegram": {"enabled": True, "token": "${TG_TOKEN}"}})
    assert config.telegram.token is not None
    assert config.telegram.token.get_secret_value() == "123:hunter2"
    assert "hunter2" not in repr(config) and "hunter2" not in str(config.model_dump())


def test_missing_variable_reported_for_an_enabled_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE", raising=False)
    found = problems({"telegram": {"enabled": True, "token": "${NOPE}"}})
    assert "telegram.token: environment variable NOPE is not set" in found
    parse_config({"telegram": {"enabled": False, "token": "${NOPE}"}})  # unused: fine


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("locale: fr\nmatrix: {enabled: true}\n", encoding="utf-8")
    assert main(["check-config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "locale:" in out and "matrix: password or access_token" in out
    assert main(["check-config", str(EXAMPLE)]) == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text("locale: [unclosed\n", encoding="utf-8")
    assert main(["check-config", str(broken)]) == 1
    assert "not valid YAML" in capsys.readouterr().out
