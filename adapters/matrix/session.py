"""The bot's Matrix session: the nio client, its login and its crypto store.

Login, in order of preference:
1. `access_token` from the configuration: restored as is (its device is asked from the
   server, so that the crypto store matches the device the token belongs to);
2. the token of an earlier password login, kept in the adapter's memory;
3. `password`: a login with the fixed `device_id`, whose token is then kept, so that later
   starts restore it instead of making a new device.

The crypto store (olm account, megolm sessions) lives in `store_path`; with the same
device id a restart keeps the keys and still reads encrypted rooms. Secrets are never
logged (nio, which logs response bodies at DEBUG, is kept to warnings, and the token in use
is handed to `bot.logs.hide`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import nio

from adapters.matrix.errors import describe
from adapters.matrix.state import AdapterMemory
from bot.config import MatrixConfig
from bot.logs import hide

log = logging.getLogger(__name__)

DEVICE_NAME = "piazzabot"
REQUEST_TIMEOUT = 30.0


class LoginFailed(Exception):
    """The homeserver refused the bot's credentials: an operator must fix the config."""


def quiet_nio() -> None:
    """nio logs every response body at DEBUG (a login's access token among them) and every
    room event at INFO: keep it to warnings, unless its level was configured on purpose."""
    nio_log = logging.getLogger("nio")
    if nio_log.level == logging.NOTSET:
        nio_log.setLevel(logging.WARNING)


def make_client(config: MatrixConfig) -> nio.AsyncClient:
    """A nio client that does not sleep on rate limits (the outbox waits instead) and gives
    up on a dead connection after a few tries (the caller retries later)."""
    quiet_nio()
    store_path = None
    if config.encryption:
        Path(config.store_path).mkdir(parents=True, exist_ok=True)
        store_path = config.store_path
    client_config = nio.AsyncClientConfig(
        encryption_enabled=config.encryption, store_sync_tokens=False, max_limit_exceeded=0,
        max_timeouts=2, request_timeout=REQUEST_TIMEOUT)
    return nio.AsyncClient(config.homeserver.rstrip("/"), config.user_id,
                           device_id=config.device_id, store_path=store_path or "",
                           config=client_config)


async def _whoami(client: nio.AsyncClient, token: str) -> nio.WhoamiResponse | None:
    """Who the token belongs to; None if the server refuses it (raises on network errors)."""
    client.access_token = token
    response = await client.whoami()
    client.access_token = ""
    if isinstance(response, nio.WhoamiError):
        log.warning("a stored or configured access token was refused: %s", describe(response))
        return None
    return response


async def _restore(client: nio.AsyncClient, token: str, expected_device: str | None) -> bool:
    who = await _whoami(client, token)
    if who is None:
        return False
    if who.user_id != client.user:
        raise LoginFailed(f"the access token belongs to {who.user_id}, not {client.user}")
    device = who.device_id or expected_device
    if not device:
        raise LoginFailed("the access token has no device; log in with a password instead")
    if expected_device and device != expected_device:
        log.warning("the access token's device is %s, not the configured %s: using %s",
                    device, expected_device, device)
    client.restore_login(who.user_id, device, token)
    return True


async def login(client: nio.AsyncClient, config: MatrixConfig, memory: AdapterMemory) -> None:
    """Log `client` in (see the module's docstring). Raises `LoginFailed`, or a transport
    error when the homeserver cannot be reached."""
    if config.access_token and config.access_token.get_secret_value():
        if not await _restore(client, config.access_token.get_secret_value(), config.device_id):
            raise LoginFailed("the configured access_token was refused")
    else:
        stored = await memory.get("login", "access_token")
        device = await memory.get("login", "device_id")
        if not (stored and await _restore(client, stored, device or config.device_id)):
            await _password_login(client, config, memory)
    hide(client.access_token)  # a stored or fresh token is not in the configuration
    log.info("logged in to %s as %s, device %s", config.homeserver, client.user_id,
             client.device_id, extra={"platform": "matrix"})
    if client.olm is not None and client.should_upload_keys:
        response = await client.keys_upload()
        if isinstance(response, nio.KeysUploadError):
            log.warning("device keys not uploaded yet: %s", describe(response))


async def _password_login(client: nio.AsyncClient, config: MatrixConfig,
                          memory: AdapterMemory) -> None:
    if not (config.password and config.password.get_secret_value()):
        raise LoginFailed("no password configured and no usable access token")
    client.device_id = config.device_id
    response = await client.login(config.password.get_secret_value(), device_name=DEVICE_NAME)
    if isinstance(response, nio.LoginError):
        raise LoginFailed(f"password login refused: {describe(response)}")
    await memory.set("login", "access_token", response.access_token)
    await memory.set("login", "device_id", response.device_id)
