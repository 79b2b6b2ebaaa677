"""The bot as `piazzabot run --config FILE` does it, for the benchmarks; `--lax-limits` raises
the adapter's rate limits out of reach.

    .venv/bin/python bench/telegram_bot.py --config FILE [--lax-limits]

The Bot API emulator answers at any rate unless asked to enforce Telegram's limits, and the
throughput benchmark measures what a command costs, not how long Telegram's 20 messages a
minute per group make replies wait: with `--lax-limits` PTB's rate limiter still runs on every
call (its cost is part of the figure) but never waits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.telegram import adapter
from bot import cli

LAX = 1_000_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--lax-limits", action="store_true")
    args = parser.parse_args()
    if args.lax_limits:
        adapter.MESSAGES_PER_SECOND = adapter.GROUP_MESSAGES_PER_MINUTE = LAX
    return cli.main(["run", "--config", args.config])


if __name__ == "__main__":
    sys.exit(main())
