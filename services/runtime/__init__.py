"""The runtime every sfcloud process shares: config, logs, tracing, tokens, gRPC and database plumbing."""
