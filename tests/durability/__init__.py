"""Crash and outage tests: what was acknowledged survives, exactly once (RELIABILITY.md D1, D2, D4)."""
