"""Where readings come from: one module per factory protocol, each a :class:`edge.readings.Source`."""
