"""Due work (reminders, poll deadlines, digests, retention) run by APScheduler in the bot's loop."""
