"""gRPC microservices of sfcloud and the runtime they share."""
