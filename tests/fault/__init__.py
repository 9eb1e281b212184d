"""Fault injection: real redis-server and tracesink processes killed and restarted under load."""
