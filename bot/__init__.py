"""piazzabot's platform-neutral core: events in, messages out, the use cases in between."""
