output "namespaces" {
  description = "The namespaces made, by role (apps, data, observability)."
  value       = { for role, namespace in kubernetes_namespace_v1.this : role => namespace.metadata[0].name }
}

output "secret_store" {
  description = "Name of the ClusterSecretStore reading AWS Secrets Manager."
  value       = kubernetes_manifest.secret_store.manifest.metadata.name
}

output "storage_class" {
  description = "Name of the encrypted gp3 storage class (database volumes)."
  value       = kubernetes_storage_class_v1.gp3.metadata[0].name
}

output "ingress_class" {
  description = "Name of the ingress class making internet-facing ALBs."
  value       = kubernetes_ingress_class_v1.alb.metadata[0].name
}
