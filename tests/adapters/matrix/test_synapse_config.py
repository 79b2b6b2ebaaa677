"""The generated homeserver config, checked without starting a server."""

from __future__ import annotations

import importlib.util

from tests.adapters.matrix.synapse import RATE_LIMIT_KEYS, deep_merge, unlimited_rate_limits
from tests.support import require_or_skip


def test_every_rate_limit_of_the_installed_synapse_is_raised() -> None:
    """Guards `RATE_LIMIT_KEYS` against a Synapse upgrade adding a new ``rc_*`` limit."""
    if importlib.util.find_spec("synapse") is None:
        require_or_skip("matrix-synapse is not installed")
    from synapse.config.ratelimiting import RatelimitConfig, RatelimitSettings

    config = RatelimitConfig(None)  # type: ignore[arg-type]
    config.read_config(unlimited_rate_limits())
    limits = {
        name: value for name, value in vars(config).items() if isinstance(value, RatelimitSettings)
    }
    strict = {
        name: limit
        for name, limit in limits.items()
        if limit.key != "rc_remote_media_downloads"  # bytes per second, not requests
        and (limit.per_second < 1000 or limit.burst_count < 1000)
    }
    assert not strict, f"rate limits missing from RATE_LIMIT_KEYS: {strict}"
    assert config.rc_admin_redaction is not None  # None (not a setting) unless configured
    assert all(key.startswith("rc_") for key in RATE_LIMIT_KEYS)


def test_extra_config_is_deep_merged() -> None:
    strict = {"rc_message": {"per_second": 0.5, "burst_count": 2}, "rc_login": {"account": {}}}
    merged = deep_merge(unlimited_rate_limits(), strict)
    assert merged["rc_message"] == strict["rc_message"]
    assert merged["rc_login"]["address"]["burst_count"] >= 1000
