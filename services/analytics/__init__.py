"""The analytics service: range, aggregate and latest-value queries over telemetry blocks."""
