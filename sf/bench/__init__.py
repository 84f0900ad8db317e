"""`sf bench`: the DESIGN.md figures, each measured beside a baseline in the same run."""
