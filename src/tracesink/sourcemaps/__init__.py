"""Readable browser stacks: source maps uploaded per release, applied when a trace is read."""
