"""Turning request bodies into stored entries: pure functions, no I/O."""
