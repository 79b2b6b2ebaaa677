"""Run a real Synapse homeserver in a subprocess, for integration tests.

The server is fully offline: a single client listener on 127.0.0.1 (the
``client`` resource also serves ``/_synapse/admin`` and media), federation
disabled through an empty ``federation_domain_whitelist``, no trusted key
servers, no stats reporting, no URL previews, no presence.  Every rate limit
is raised so high that tests never hit one, unless a test asks for a strict
limit through ``extra_config`` (e.g. ``{"rc_message": {"per_second": 0.1,
"burst_count": 1}}`` to exercise ``M_LIMIT_EXCEEDED`` handling).

There is only one homeserver, hence only one server name (``localhost``): a
test of the bot's ``allowed_servers`` allow-list cannot talk to a second
server; it should instead configure an allow-list that *excludes*
``localhost`` (e.g. ``["example.org"]``) and check that users of this server
are then refused.

Usage::

    async with SynapseServer() as server:
        alice = await server.register("alice")
        ...  # nio.AsyncClient(server.base_url, alice.user_id) ...
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

DEFAULT_SERVER_NAME = "localhost"
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0

#: A rate limit no test will ever reach.
UNLIMITED_RATE: dict[str, float] = {"per_second": 100_000, "burst_count": 1_000_000}

#: Every ``RatelimitSettings`` key that Synapse 1.163 reads (see
#: ``synapse/config/ratelimiting.py``); dotted names are nested sections.
#: ``test_synapse_fixture.py`` checks against the installed Synapse that none is left out.
RATE_LIMIT_KEYS: tuple[str, ...] = (
    "rc_message",
    "rc_registration",
    "rc_registration_token_validity",
    "rc_login.address",
    "rc_login.account",
    "rc_login.failed_attempts",
    "rc_admin_redaction",
    "rc_joins.local",
    "rc_joins.remote",
    "rc_joins_per_room",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_invites.per_room",
    "rc_invites.per_user",
    "rc_invites.per_issuer",
    "rc_third_party_invite",
    "rc_media_create",
    "rc_presence.per_user",
    "rc_delayed_event_mgmt",
    "rc_room_creation",
    "rc_reports",
    "rc_user_directory",
    "rc_profile",
)


class SynapseError(RuntimeError):
    """Synapse could not be started, or an admin API call failed."""


@dataclass(frozen=True)
class RegisteredUser:
    """A user created through the shared-secret registration API, already logged in."""

    user_id: str
    password: str
    access_token: str
    device_id: str


def unlimited_rate_limits() -> dict[str, Any]:
    """Return the ``rc_*`` config section raising every rate limit in `RATE_LIMIT_KEYS`."""
    config: dict[str, Any] = {}
    for key in RATE_LIMIT_KEYS:
        *parents, leaf = key.split(".")
        section = config
        for parent in parents:
            section = section.setdefault(parent, {})
        section[leaf] = dict(UNLIMITED_RATE)
    return config


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base`; nested mappings are merged, not replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def free_port() -> int:
    """Ask the kernel for a free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def registration_mac(secret: str, nonce: str, username: str, password: str, *, admin: bool) -> str:
    """HMAC-SHA1 expected by ``/_synapse/admin/v1/register``."""
    message = "\x00".join((nonce, username, password, "admin" if admin else "notadmin"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha1).hexdigest()


def _signing_key_line() -> str:
    """A Synapse signing key file line: ``ed25519 <key id> <unpadded base64 seed>``.

    Any 32 random bytes are a valid ed25519 seed, so no Synapse helper is needed.
    """
    seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"ed25519 a_{secrets.token_hex(2)} {seed}\n"


def _log_config(log_path: Path) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` writing WARNING and above to `log_path`."""
    return {
        "version": 1,
        "formatters": {
            "precise": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}
        },
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "filename": str(log_path),
                "formatter": "precise",
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


def _write_json_as_yaml(path: Path, data: Mapping[str, Any]) -> None:
    """Write `data` as JSON, which is valid YAML: no YAML library needed on our side."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


class SynapseServer:
    """A throw-away Synapse homeserver running in a subprocess.

    Everything (config, SQLite database, media, logs) lives in a temporary
    folder, removed by `stop` unless `keep_workdir` is set or the start failed.
    """

    def __init__(
        self,
        *,
        server_name: str = DEFAULT_SERVER_NAME,
        extra_config: Mapping[str, Any] | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
        keep_workdir: bool = False,
    ) -> None:
        self._server_name = server_name
        self._extra_config = dict(extra_config or {})
        self._startup_timeout = startup_timeout
        self._keep_workdir = keep_workdir
        self._shared_secret = secrets.token_urlsafe(24)
        self._port: int | None = None
        self._workdir: Path | None = None
        self._process: asyncio.subprocess.Process | None = None
        self.startup_seconds: float | None = None
        """Wall time from spawning the process to the first answer of ``/versions``."""

    # ----------------------------------------------------------------- properties

    @property
    def server_name(self) -> str:
        return self._server_name

    @property
    def port(self) -> int:
        if self._port is None:
            raise SynapseError("the server has not been started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise SynapseError("the server has not been started")
        return self._workdir

    @property
    def log_path(self) -> Path:
        """Synapse's own log (WARNING and above) plus its stdout/stderr."""
        return self.workdir / "homeserver.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    # ---------------------------------------------------------------- config

    def build_config(self) -> dict[str, Any]:
        """The complete homeserver config, `extra_config` deep-merged last."""
        workdir = self.workdir
        config: dict[str, Any] = {
            "server_name": self._server_name,
            "pid_file": str(workdir / "homeserver.pid"),
            "public_baseurl": f"{self.base_url}/",
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(workdir / "homeserver.db")},
            },
            "log_config": str(workdir / "log_config.yaml"),
            "media_store_path": str(workdir / "media_store"),
            "signing_key_path": str(workdir / "signing.key"),
            "registration_shared_secret": self._shared_secret,
            "macaroon_secret_key": secrets.token_urlsafe(24),
            "form_secret": secrets.token_urlsafe(24),
            "enable_registration": False,
            "bcrypt_rounds": 4,
            "report_stats": False,
            "enable_metrics": False,
            "federation_domain_whitelist": [],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "url_preview_enabled": False,
            "presence": {"enabled": False},
            **unlimited_rate_limits(),
        }
        return deep_merge(config, self._extra_config)

    def _write_files(self) -> Path:
        """Write config, log config and signing key; return the config's path."""
        workdir = self.workdir
        (workdir / "media_store").mkdir()
        (workdir / "signing.key").write_text(_signing_key_line(), encoding="ascii")
        _write_json_as_yaml(workdir / "log_config.yaml", _log_config(self.log_path))
        config_path = workdir / "homeserver.yaml"
        _write_json_as_yaml(config_path, self.build_config())
        return config_path

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Spawn Synapse and wait until it answers; raise `SynapseError` if it does not."""
        if self._process is not None:
            raise SynapseError("the server is already started")
        self._workdir = Path(tempfile.mkdtemp(prefix="synapse-test-"))
        self._port = free_port()
        config_path = self._write_files()
        began = time.monotonic()
        with self.log_path.open("ab") as log_file:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(config_path),
                cwd=str(self.workdir),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
        try:
            await self._wait_until_ready()
        except BaseException:
            self._keep_workdir = True  # the log and config stay for inspection
            await self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    async def _wait_until_ready(self) -> None:
        url = f"{self.base_url}/_matrix/client/versions"
        deadline = time.monotonic() + self._startup_timeout
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                if not self.running:
                    raise SynapseError(self._failure("Synapse exited during startup"))
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise SynapseError(
                        self._failure(f"Synapse did not answer within {self._startup_timeout}s")
                    )
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """SIGTERM the server, SIGKILL it after a timeout, then remove the temp folder."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._workdir is not None and not self._keep_workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    async def __aenter__(self) -> SynapseServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------ diagnostics

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of the server log, for failure messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join(text.splitlines()[-lines:])

    def _failure(self, reason: str) -> str:
        return f"{reason}; log tail ({self.log_path}):\n{self.log_tail()}"

    # ------------------------------------------------------------ admin API

    async def register(
        self, localpart: str, password: str | None = None, admin: bool = False
    ) -> RegisteredUser:
        """Create a user through the shared-secret admin API and return its login."""
        password = password or secrets.token_urlsafe(16)
        url = f"{self.base_url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                nonce = (await self._json(response, "register nonce"))["nonce"]
            body = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": registration_mac(
                    self._shared_secret, nonce, localpart, password, admin=admin
                ),
            }
            async with session.post(url, json=body) as response:
                result = await self._json(response, f"register {localpart}")
        return RegisteredUser(
            user_id=result["user_id"],
            password=password,
            access_token=result["access_token"],
            device_id=result["device_id"],
        )

    @staticmethod
    async def _json(response: aiohttp.ClientResponse, what: str) -> dict[str, Any]:
        payload: dict[str, Any] = await response.json(content_type=None)
        if response.status != 200:
            raise SynapseError(f"{what}: HTTP {response.status} {payload}")
        return payload
