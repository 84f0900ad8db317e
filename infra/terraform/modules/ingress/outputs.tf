output "app_url" {
  description = "URL of the web app and the GraphQL API (/graphql)."
  value       = "https://${aws_route53_record.host["app"].fqdn}/"
}

output "grpc_endpoint" {
  description = "gRPC endpoint for devices and edge agents (TLS)."
  value       = "${aws_route53_record.host["grpc"].fqdn}:443"
}
