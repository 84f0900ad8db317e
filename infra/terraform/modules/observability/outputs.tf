output "otlp_endpoint" {
  description = "OTLP/gRPC endpoint of the collector (OTEL_EXPORTER_OTLP_ENDPOINT)."
  value       = "http://${helm_release.collector.name}.${var.namespace}.svc.cluster.local:4317"
}
