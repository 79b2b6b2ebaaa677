"""Comparing what the members did, what the platform saw and what the database holds.

- An action is *acknowledged* when the platform accepted the bot's answer to it (a private
  message naming what was done, or the callback answer of a button).
- It is *lost* if its update never reached `processed_events`, or its effect is not in the
  database (an idea with its marker, a support, an answer, a chosen territory), or if an
  outbox row ended anywhere but `sent` / `superseded`.
- Messages must reach each chat in the order the outbox wrote them.
- It is *duplicated* if it was carried out twice: two ideas with one marker, two outbox
  rows answering it, an "already supported / already noted" answer, a callback answered
  twice with a text, or two recorded messages with the same text in one chat.
- A *resend* is a message the platform accepted that no outbox row records: the bot was
  killed between the platform's acceptance and its own note of it, and sent it again after
  the restart (at-least-once delivery; the Bot API has no idempotency key), or sent a
  newer version of it (a card). Each one must have been accepted in a run that ended with
  a SIGKILL, at most one per destination and run, or it counts as a duplicate.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from tests.resilience.platform import Call, RecordingEmulator
from tests.resilience.snapshot import OutboxRow, Snapshot
from tests.resilience.workload import Action, Reminder

ALREADY = ("Sostieni già", "Era già segnato")
DONE_STATES = ("sent", "superseded")


@dataclass(frozen=True)
class Resend:
    chat: int
    text: str
    window: float  # seconds from the platform's acceptance to the SIGKILL (< 0: in flight)


@dataclass
class Audit:
    actions: int = 0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    resends: list[Resend] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [*(f"lost: {x}" for x in self.lost), *(f"twice: {x}" for x in self.duplicates),
                *self.problems]


def text_of(call: Call) -> str:
    return str(call.result.get("text") or call.result.get("caption") or "")


def message_key(call: Call) -> tuple[int, int]:
    return (int(call.result["chat"]["id"]), int(call.result["message_id"]))


class Ledger:
    """The platform's record of accepted messages, split into those the outbox records and
    the others (resends)."""

    def __init__(self, emu: RecordingEmulator, snapshot: Snapshot) -> None:
        recorded = {(row.chat, row.message_id) for row in snapshot.outbox if row.message_id}
        self.sends = emu.sends()
        self.recorded = [c for c in self.sends if message_key(c) in recorded]
        self.orphans = [c for c in self.sends if message_key(c) not in recorded]
        accepted = {message_key(c) for c in self.sends}
        self.unknown = sorted(key for key in recorded if key not in accepted)

    def replies(self, chat: int, test: str | tuple[str, ...]) -> list[Call]:
        """Recorded messages to `chat` whose text starts with `test`."""
        return [c for c in self.recorded if c.chat_id == chat and text_of(c).startswith(test)]


def audit(actions: Sequence[Action], emu: RecordingEmulator, snapshot: Snapshot,
          kills: Sequence[float], launches: Sequence[float],
          reminder: Reminder | None = None) -> Audit:
    """`kills` and `launches`: time.monotonic() of each SIGKILL and each start."""
    ledger = Ledger(emu, snapshot)
    result = Audit(actions=len(actions))
    answers = Counter(a["callback_query_id"] for a in emu.callback_answers if a.get("text"))
    for action in actions:
        replies = _replies(action, ledger, snapshot)
        acknowledged = (answers[action.query_id] > 0 if action.kind == "press"
                        else bool(replies))
        result.acknowledged += acknowledged
        name = f"{action.kind} by {action.member} (update {action.update_id}, " \
               f"{'acknowledged' if acknowledged else 'not acknowledged'})"
        if str(action.update_id) not in snapshot.processed:
            result.lost.append(f"{name}: never processed")
        effects = _effects(action, snapshot)
        if effects == 0:
            result.lost.append(f"{name}: not in the database")
        if effects > 1:
            result.duplicates.append(f"{name}: {effects} times in the database")
        if len(replies) > 1 or (action.kind == "press" and answers[action.query_id] > 1):
            result.duplicates.append(f"{name}: answered {max(len(replies), 1)} times")
    _check_outbox(snapshot, ledger, result)
    _check_order(snapshot, ledger, result)
    _check_messages(ledger, result)
    _check_resends(ledger, kills, launches, result)
    if reminder is not None:
        _check_reminder(reminder, snapshot, ledger, result)
    return result


def _replies(action: Action, ledger: Ledger, snapshot: Snapshot) -> list[Call]:
    chat = action.member
    match action.kind:
        case "territorio":
            return [c for c in ledger.replies(chat, "Fatto:")
                    if f"vale per {action.territory}" in text_of(c)]
        case "idea":
            assert action.marker is not None
            return [c for number in snapshot.ideas_with(action.marker)
                    for c in ledger.replies(chat, f"Fatto: l'idea #{number} ")]
        case "sostengo":
            return ledger.replies(chat, f"Grazie: sostieni l'idea #{action.target}.")
        case "partecipo":
            return ledger.replies(chat, "Segnato:")
    return []


def _effects(action: Action, snapshot: Snapshot) -> int:
    member = action.member
    match action.kind:
        case "territorio":
            return int(snapshot.homes.get(member) == action.territory)
        case "idea":
            assert action.marker is not None
            return sum(snapshot.ideas[n][0] == member for n in snapshot.ideas_with(action.marker))
        case "sostengo":
            return int((action.target, member) in snapshot.supports)
        case "partecipo" | "press":
            assert action.target is not None
            return int(snapshot.answers.get((action.target, member)) == action.answer)
    raise AssertionError(action.kind)


def _check_outbox(snapshot: Snapshot, ledger: Ledger, result: Audit) -> None:
    for row in snapshot.outbox:
        if row.state not in DONE_STATES:
            result.lost.append(f"outbox row {row.id} to {row.chat} ended {row.state}")
        elif row.state == "sent" and row.message_id is None:
            result.problems.append(f"outbox row {row.id} sent without a message id")
    for chat, message_id in ledger.unknown:
        result.problems.append(f"outbox records message {message_id} in {chat}, "
                               "which the platform never accepted")


def _check_order(snapshot: Snapshot, ledger: Ledger, result: Audit) -> None:
    """In each chat, messages appeared in the order their rows were written: message ids
    grow in a chat, so the first row naming each message must name them in growing order
    (later rows of a card edit the message its first row posted)."""
    posted: dict[int, list[OutboxRow]] = {}
    seen: set[tuple[int, int]] = set()
    for row in snapshot.outbox:  # in id order
        if row.state == "sent" and row.message_id and (row.chat, row.message_id) not in seen:
            seen.add((row.chat, row.message_id))
            posted.setdefault(row.chat, []).append(row)
    texts = {message_key(call): text_of(call)[:40] for call in ledger.sends}
    for chat, rows in posted.items():
        ids = [row.message_id for row in rows]
        if ids != sorted(ids):
            late = [f"row {a.id} ({a.key}: {texts.get((chat, a.message_id or 0))!r}) got "
                    f"{a.message_id}, row {b.id} ({b.key}: "
                    f"{texts.get((chat, b.message_id or 0))!r}) {b.message_id}"
                    for a, b in pairwise(rows) if (a.message_id or 0) > (b.message_id or 0)]
            result.problems.append(f"messages out of order in {chat}: {ids}; "
                                   + "; ".join(late))


def _check_messages(ledger: Ledger, result: Audit) -> None:
    """No recorded message twice in one chat, no "already done" answer anywhere."""
    seen = Counter((c.chat_id, text_of(c)) for c in ledger.recorded)
    for (chat, text), times in seen.items():
        if times > 1:
            result.duplicates.append(f"{times} recorded messages {text[:60]!r} in {chat}")
    for call in ledger.sends:
        if text_of(call).startswith(ALREADY):
            result.duplicates.append(f"{text_of(call)[:60]!r} sent to {call.chat_id}")


def _check_resends(ledger: Ledger, kills: Sequence[float], launches: Sequence[float],
                   result: Audit) -> None:
    """Every unrecorded message was accepted in a run that ended with a SIGKILL, at most one
    per destination and run (a destination has one delivery in flight at a time)."""
    per_run: Counter[tuple[int, int | None]] = Counter()
    for orphan in ledger.orphans:
        text = text_of(orphan)
        run = bisect_right(launches, orphan.at) - 1  # the run alive when it was accepted
        if not 0 <= run < len(kills):
            result.duplicates.append(f"unrecorded message {text[:60]!r} in {orphan.chat_id}, "
                                     "accepted in a run that was not killed")
            continue
        per_run[(run, orphan.chat_id)] += 1
        result.resends.append(Resend(int(orphan.chat_id or 0), text, kills[run] - orphan.at))
    for (run, chat), count in per_run.items():
        if count > 1:
            result.duplicates.append(f"{count} unrecorded messages in {chat} in run {run + 1}")


def _check_reminder(reminder: Reminder, snapshot: Snapshot, ledger: Ledger,
                    result: Audit) -> None:
    rows = [r for r in snapshot.reminders if r.meetup == reminder.meetup]
    if [(r.sent_at is not None, r.outcome) for r in rows] != [(True, "sent")]:
        result.lost.append(f"the reminder of meetup {reminder.meetup}: rows {rows}")
    for chat in (reminder.chat_id, reminder.organiser):
        copies = [c for c in ledger.replies(chat, "⏰") if reminder.title in text_of(c)]
        if len(copies) != 1:
            (result.lost if not copies else result.duplicates).append(
                f"the reminder of meetup {reminder.meetup} reached {chat} "
                f"{len(copies)} times")
