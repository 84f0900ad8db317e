output "services" {
  description = "Each process's Kubernetes Service: name and port."
  value       = { for name, service in kubernetes_service_v1.process : name => { name = service.metadata[0].name, port = service.spec[0].port[0].port } }
}

output "migration_job" {
  description = "Name of the Job that ran this image's migrations."
  value       = kubernetes_job_v1.migrate.metadata[0].name
}
