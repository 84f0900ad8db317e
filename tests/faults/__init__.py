"""Fault injection: a TCP fault proxy and services as OS processes, for the reliability tests (RELIABILITY.md D)."""
