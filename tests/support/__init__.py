"""Helpers shared by test suites and benches: real servers to test against, never fakes."""
