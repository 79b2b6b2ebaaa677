"""The adapter's own memory, kept by the core (`CoreHandle.state`) so that a restart keeps it.

Values are short strings or JSON. Keys are `kind:name`; a name too long for the key column
(a Matrix user id may have 255 characters) is replaced by its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

from adapters.base import AdapterStateStore

MAX_KEY = 128
CACHE_SIZE = 4096


def state_key(kind: str, name: str) -> str:
    key = f"{kind}:{name}"
    if len(key) <= MAX_KEY:
        return key
    return f"{kind}#{hashlib.sha256(name.encode()).hexdigest()}"


class AdapterMemory:
    """`core.state` with a small read cache; an empty string stands for "forgotten"."""

    def __init__(self, store: AdapterStateStore) -> None:
        self._store = store
        self._cache: OrderedDict[str, str | None] = OrderedDict()

    async def get(self, kind: str, name: str) -> str | None:
        key = state_key(kind, name)
        if key in self._cache:
            self._cache.move_to_end(key)
            value = self._cache[key]
        else:
            value = await self._store.get(key)
            self._remember(key, value)
        return value or None

    async def set(self, kind: str, name: str, value: str) -> None:
        key = state_key(kind, name)
        await self._store.set(key, value)
        self._remember(key, value)

    async def forget(self, kind: str, name: str) -> None:
        await self.set(kind, name, "")

    async def get_json(self, kind: str, name: str) -> Any:
        raw = await self.get(kind, name)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    async def set_json(self, kind: str, name: str, value: Any) -> None:
        await self.set(kind, name, json.dumps(value, separators=(",", ":")))

    def _remember(self, key: str, value: str | None) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
