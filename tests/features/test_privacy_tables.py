"""Every column that points at a member is in `bot.privacy.tables.MEMBER_COLUMNS`, so the
export shows it, forgetting decides about it and linking moves it."""

from __future__ import annotations

from bot.privacy.tables import MEMBER_COLUMNS
from storage.schema import metadata


def test_every_foreign_key_to_members_is_covered() -> None:
    pointing = {
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        for key in column.foreign_keys
        if key.column.table.name == "members" and key.column.name == "id"
    }
    covered = [spec.name for spec in MEMBER_COLUMNS]
    assert len(covered) == len(set(covered)), "a column is listed twice"
    missing = pointing - set(covered)
    assert not missing, (f"columns pointing at members.id not in MEMBER_COLUMNS: {missing}; "
                         "decide there what forgetting and linking do with them")
    assert set(covered) <= pointing, "MEMBER_COLUMNS lists a column that no longer exists"


def test_unique_rules_name_real_columns() -> None:
    for spec in MEMBER_COLUMNS:
        columns = set(spec.model.__table__.columns.keys())
        assert set(spec.one_per) <= columns, spec.name
        assert spec.latest_by is None or spec.latest_by in columns, spec.name
        assert set(spec.secret) <= columns, spec.name
