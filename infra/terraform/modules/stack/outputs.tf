output "app_url" {
  description = "URL of the web app and GraphQL API."
  value       = module.ingress.app_url
}

output "grpc_endpoint" {
  description = "gRPC endpoint for devices and edge agents."
  value       = module.ingress.grpc_endpoint
}

output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.cluster.name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API."
  value       = module.cluster.endpoint
}

output "cluster_certificate_authority" {
  description = "Base64 CA certificate of the Kubernetes API."
  value       = module.cluster.certificate_authority
}

output "cells" {
  description = "Each database cell's host, database, superuser secret and backup bucket."
  value       = module.cells.cells
}

output "placement" {
  description = "Tenant slug → cell, from the tenant manifests."
  value       = module.cells.placement
}

output "redis_host" {
  description = "Primary endpoint of Redis."
  value       = module.redis.host
}

output "namespaces" {
  description = "Kubernetes namespaces: apps, data, observability."
  value       = module.platform.namespaces
}
