"""Ranking a poll's options from their counts: who leads, who won, and ties.

In `pick` mode an option scores one point per member who chose it. In `ynm` mode (yes /
if need be / no, as Rallly and Framadate do) a yes is worth 1 and an if-need-be 0.5; of
options with the same score, the one fewer members said no to ranks higher. Scores are
kept doubled (yes 2, if need be 1) so that they stay whole numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PICK, YNM = "pick", "ynm"
YES, MAYBE, NO = "yes", "maybe", "no"


@dataclass(frozen=True)
class Count:
    """How many members gave each answer to one option."""

    yes: int = 0
    maybe: int = 0
    no: int = 0

    @property
    def answered(self) -> int:
        return self.yes + self.maybe + self.no


def key(count: Count, mode: str) -> tuple[int, int]:
    """What ranks an option, larger first: the doubled score, then fewer no."""
    if mode == YNM:
        return (2 * count.yes + count.maybe, -count.no)
    return (count.yes, 0)


def points(count: Count, mode: str) -> float:
    """The score as shown: 3, or 2.5 for half points."""
    return key(count, mode)[0] / 2 if mode == YNM else float(count.yes)


def ranking(counts: Sequence[Count], mode: str) -> list[int]:
    """Option indexes, best first; equal options keep their order."""
    return sorted(range(len(counts)), key=lambda i: key(counts[i], mode), reverse=True)


def leaders(counts: Sequence[Count], mode: str) -> list[int]:
    """The options sharing the best rank (more than one is a tie); none when no option has
    a point (nobody chose anything, or everybody said no)."""
    if not counts:
        return []
    best = max(key(c, mode) for c in counts)
    if best[0] <= 0:
        return []
    return [i for i, c in enumerate(counts) if key(c, mode) == best]
