"""Digests: what happened in a territory (or everywhere, for staff), sent on a schedule."""
