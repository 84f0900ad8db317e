output "app_url" {
  description = "URL of the web app and GraphQL API (/graphql)."
  value       = module.stack.app_url
}

output "grpc_endpoint" {
  description = "gRPC endpoint for devices and edge agents (SF_INGEST_TARGET of sf edge, TLS)."
  value       = module.stack.grpc_endpoint
}

output "cluster_name" {
  description = "EKS cluster: aws eks update-kubeconfig --name <this>."
  value       = module.stack.cluster_name
}

output "cells" {
  description = "Database cells: read-write host, database, superuser secret, backup bucket."
  value       = module.stack.cells
}

output "placement" {
  description = "Tenant slug → cell, as the tenant manifests declare it."
  value       = module.stack.placement
}

output "redis_host" {
  description = "Primary endpoint of Redis."
  value       = module.stack.redis_host
}
