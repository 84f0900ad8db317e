output "cell" {
  description = "The cell's name."
  value       = var.cell
}

output "host" {
  description = "In-cluster DNS name of the cell's read-write service (the primary)."
  value       = "${local.cluster}-rw.${var.namespace}.svc.cluster.local"
}

output "database" {
  description = "Name of the application database."
  value       = var.database
}

output "superuser_secret" {
  description = "Name of the Secrets Manager secret holding the superuser (JSON username, password)."
  value       = aws_secretsmanager_secret.superuser.name
}

output "backup_bucket" {
  description = "S3 bucket of the cell's base backups and WAL (restores read from it)."
  value       = aws_s3_bucket.backups.bucket
}
