"""SIGKILL at random moments: nothing acknowledged is lost, nothing is done twice.

The real bot process (Telegram adapter, polling the emulator) serves 30 members in three
territories. After a setup, the members' burst is handed to the platform while the bot is
killed with SIGKILL at random moments — handling updates, delivering, starting — and
started again each time, on SQLite and on PostgreSQL. Once the platform holds no update and
the outbox is empty, the bot is stopped and the database is compared with the members'
actions and with what the platform accepted (`tests/resilience/audit.py`):

- every update is in `processed_events` and its effect is in the database once; every
  acknowledged action among them;
- no action was carried out twice (no second idea, answer or outbox row for one update);
- every outbox row ended sent (or superseded by a newer card); a message accepted by the
  platform but not recorded by a killed bot was sent again (at-least-once): counted and
  reported as resends, with the time between the acceptance and the kill;
- the meetup reminder planned in the setup falls due during or after the kills, and is
  sent exactly once (the scheduler is rebuilt from the database at every start).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from tests.resilience.audit import Audit, audit, text_of
from tests.resilience.chaos import Rounds, kill_during, settled
from tests.resilience.conftest import KILLS, SEED
from tests.resilience.platform import RecordingEmulator
from tests.resilience.process import BotProcess
from tests.resilience.snapshot import read
from tests.resilience.workload import Reminder, World, burst, prepare

MEMBERS, TERRITORIES = 30, 5
IDEAS_EACH = 2 + KILLS // 10
SETTLE_WITHIN = 120.0

pytestmark = pytest.mark.timeout(240 + 12 * KILLS)


def reminder_sent(emu: RecordingEmulator, reminder: Reminder) -> Callable[[], bool]:
    def sent() -> bool:
        return any("⏰" in text_of(call) and reminder.title in text_of(call)
                   for call in emu.sends() if call.chat_id == reminder.chat_id)
    return sent


async def test_sigkill_at_random_moments_loses_and_repeats_nothing(
        bot: BotProcess, emu: RecordingEmulator, database_url: str,
        report: Callable[[str], None]) -> None:
    rng = random.Random(SEED)
    phases = [time.monotonic()]
    world = World.build(MEMBERS, TERRITORIES)
    world.populate(emu)
    await bot.start()
    stage = await prepare(emu, world, rng, datetime.now(UTC))
    assert stage.reminder is not None
    actions = burst(world, stage, rng, IDEAS_EACH)
    phases.append(time.monotonic())

    rounds = await kill_during(bot, emu, actions, KILLS, rng)
    phases.append(time.monotonic())
    due_in = (stage.reminder.due - datetime.now(UTC)).total_seconds()
    await settled(bot, emu, max(due_in, 0) + SETTLE_WITHIN, reminder_sent(emu, stage.reminder))
    assert await bot.stop() == 0
    phases.append(time.monotonic())

    result = audit(actions, emu, await read(database_url), bot.kills, bot.launches,
                   stage.reminder)
    report(figures(result, rounds, bot, stage.reminder, phases))
    assert not result.failures, "\n".join(result.failures)
    assert len(bot.kills) == KILLS


def figures(result: Audit, rounds: Rounds, bot: BotProcess, reminder: Reminder,
            phases: list[float]) -> str:
    """One line for the run's summary; `phases`: the moments the setup began, the kills
    began and ended, and the bot was settled and stopped."""
    windows = sorted(r.window * 1000 for r in result.resends)
    spread = (f" (kill {statistics.median(windows):.0f} ms after the acceptance, median; "
              f"{windows[0]:.0f}..{windows[-1]:.0f} ms)" if windows else "")
    due = bot.state_at(reminder.due.timestamp())
    setup, kills, settle = (b - a for a, b in pairwise(phases))
    return (f"kills survived {len(bot.kills)} ({rounds.while_running} running, "
            f"{rounds.while_starting} starting, {rounds.with_updates_pending} with updates "
            f"unconfirmed); actions {result.actions}, acknowledged {result.acknowledged}, "
            f"lost {len(result.lost)}, duplicates {len(result.duplicates)}; resends after a "
            f"kill {len(result.resends)}{spread}; reminder due while the bot was {due}, sent "
            f"once; setup {setup:.0f} s, kills {kills:.0f} s, settling {settle:.0f} s")
