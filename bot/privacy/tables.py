"""Every column that points at a member, and what each privacy operation does with its rows.

The export (`/imiei_dati`), forgetting (`/dimenticami`) and linking (`/collega`) all walk
this one list. `tests/features/test_privacy_tables.py` fails when a table gains a column
that points at `members.id` and is not listed here: whoever adds one decides, here, whether
it is personal data (deleted when a member is forgotten) or a contribution (kept, under the
anonymous member), and how two members' rows merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import InstrumentedAttribute

from storage.models import ActionToken, Conversation, Identity, Role
from storage.models.audit import AuditEntry
from storage.models.digests import DigestSetting
from storage.models.ideas import Idea, IdeaEvent, IdeaReport, IdeaSupport
from storage.models.meetups import Meetup, MeetupAnswer
from storage.models.polls import Poll, PollVote

OnForget = Literal["delete", "keep"]
# move: the rows go to the other member; drop: the merged member's rows are deleted
# (short-lived state: tokens, conversations in progress).
OnMerge = Literal["move", "drop"]


@dataclass(frozen=True)
class MemberColumn:
    """One column holding a member's id.

    `one_per`: the columns a member has one say per (one support per idea, one answer per
    meetup, one ballot per poll, each role once). When both members being merged have
    rows for the same values, one member's rows for them are kept: the merge target's, or
    with `latest_by` those of whoever last changed them. `secret` columns are left out of
    the export (a token is a key, not information)."""

    column: InstrumentedAttribute[Any]
    forget: OnForget
    merge: OnMerge = "move"
    one_per: tuple[str, ...] = ()
    latest_by: str | None = None
    secret: tuple[str, ...] = ()

    @property
    def model(self) -> type[Any]:
        return self.column.class_

    @property
    def name(self) -> str:
        """`table.column`, as the export names the rows it lists."""
        return f"{self.model.__tablename__}.{self.column.key}"


MEMBER_COLUMNS: tuple[MemberColumn, ...] = (
    MemberColumn(Identity.member_id, forget="delete"),
    MemberColumn(Role.member_id, forget="delete", one_per=("territory_id", "role")),
    MemberColumn(Role.granted_by, forget="keep"),
    MemberColumn(Conversation.member_id, forget="delete", merge="drop"),
    MemberColumn(ActionToken.member_id, forget="delete", merge="drop", secret=("token",)),
    MemberColumn(Meetup.organiser_id, forget="keep"),
    MemberColumn(MeetupAnswer.member_id, forget="keep", one_per=("meetup_id",),
                 latest_by="answered_at"),
    MemberColumn(Idea.author_id, forget="keep"),
    MemberColumn(IdeaSupport.member_id, forget="keep", one_per=("idea_id",)),
    MemberColumn(IdeaReport.member_id, forget="keep", one_per=("idea_id",)),
    MemberColumn(IdeaEvent.actor_id, forget="keep"),
    MemberColumn(Poll.creator_id, forget="keep"),
    MemberColumn(Poll.closed_by, forget="keep"),
    MemberColumn(PollVote.member_id, forget="keep", one_per=("poll_id",),
                 latest_by="voted_at"),
    MemberColumn(DigestSetting.updated_by, forget="keep"),
    MemberColumn(AuditEntry.actor_id, forget="keep"),
)


def member_subject(member_id: int) -> str:
    """How audit entries name a member they are about (`subject`)."""
    return f"member:{member_id}"
