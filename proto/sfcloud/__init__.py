"""Generated protobuf and gRPC modules of the sfcloud API (`make proto`)."""
