"""Platform adapters: Telegram, Matrix, the terminal, and an in-memory one for tests."""
