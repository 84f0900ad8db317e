output "key_arn" {
  description = "ARN of the KMS key for data at rest."
  value       = aws_kms_key.this.arn
}
