"""Who may do what: member, facilitator of a territory, staff.

Staff is global and comes from the configuration (by platform user id). A facilitator is
granted per territory; the administrators of a chat (as the platform reports them) are
facilitators of that chat's territory while they administer it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import core
from storage.models import Role


class StaffList:
    """Staff ids per platform. Mutable at run time only for the terminal's `:staff`."""

    def __init__(self, ids: dict[str, Iterable[str]]) -> None:
        self._ids = {platform: set(values) for platform, values in ids.items()}

    def contains(self, platform: str, user_id: str) -> bool:
        return user_id in self._ids.get(platform, set())

    def add(self, platform: str, user_id: str) -> None:
        self._ids.setdefault(platform, set()).add(user_id)


_GRANTED = core.Statement(  # built once: /chi and every rights check run it
    select(Role.territory_id).where(Role.member_id == bindparam("member_id"),
                                    Role.role == bindparam("role")))


async def granted_territories(session: AsyncSession, member_id: int,
                              role: str = "facilitator") -> set[int]:
    rows = await core.rows(session, _GRANTED, {"member_id": member_id, "role": role})
    return {territory_id for (territory_id,) in rows}
