"""The Matrix adapter, on matrix-nio (with the `e2e` extra for encrypted rooms).

`adapter.MatrixAdapter` is the entry point; the other modules each do one thing:
`session` logs in and keeps the crypto store, `sync` runs the sync loop, `inbound` turns
Matrix events into `bot.events`, `render` and `polls` build event contents, `rooms` knows
invites, direct-message rooms and power levels, `media` uploads files, `errors` maps
Matrix errors onto the core's delivery errors, `state` is the adapter's small memory.
"""
