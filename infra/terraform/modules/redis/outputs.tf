output "host" {
  description = "Primary endpoint of Redis (TLS on port 6379)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "auth_secret" {
  description = "Name of the Secrets Manager secret holding the AUTH token (JSON password)."
  value       = aws_secretsmanager_secret.auth.name
}
