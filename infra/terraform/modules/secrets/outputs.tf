output "secret_name" {
  description = "Kubernetes Secret with the SF_ secret variables (the services read it whole)."
  value       = kubernetes_manifest.environment.manifest.metadata.name
}

output "variables" {
  description = "Names of the SF_ variables the Secret holds."
  value       = keys(local.variables)
}
