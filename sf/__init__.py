"""The `sf` command line."""
