"""The Telegram adapter, on python-telegram-bot v22 (`adapter.TelegramAdapter`)."""
