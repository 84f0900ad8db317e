"""The ingest service: authenticated devices stream batches that are stored as compressed blocks."""
