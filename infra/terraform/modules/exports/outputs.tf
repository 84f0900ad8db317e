output "claim" {
  description = "Name of the ReadWriteMany volume claim holding the export packages."
  value       = kubernetes_persistent_volume_claim_v1.this.metadata[0].name
}
