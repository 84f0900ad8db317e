"""The GraphQL API (Strawberry): one module per concern, merged in `schema.py`."""
