# The sfcloud processes as sf/processes.py defines them for `sf up`, and what each container is given:
# the same `sf serve NAME`, ports and SF_ variables (tests/infra/test_parity.py evaluates these locals
# with `terraform console` and compares them with sf's own definitions). Only locals: no providers.

locals {
  processes = {
    tenancy   = { port = 50053, health = "grpc" }
    ingest    = { port = 50051, health = "grpc" }
    analytics = { port = 50052, health = "grpc" }
    worker    = { port = 50054, health = "grpc" }
    gateway   = { port = 8000, health = "http" }
  }
  domain = "${var.namespace}.svc.cluster.local"

  # The ConfigMap every process reads; secrets come from the Secret of modules/secrets.
  environment = merge(
    { for name, process in local.processes : "SF_${upper(name)}_TARGET" => "${name}.${local.domain}:${process.port}" if process.health == "grpc" },
    {
      SF_ENV                      = "prod" # gRPC reflection off
      SF_EXPORT_DIR               = local.export_dir
      SF_PUBLIC_URL               = var.public_url
      SF_LOG_LEVEL                = var.log_level
      SF_OTEL_EXPORTER            = "otlp"
      SF_GATEWAY_KEEP_ALIVE_S     = "3610" # past the ALB's idle timeout (3600 s, modules/ingress): it closes first
      OTEL_EXPORTER_OTLP_ENDPOINT = var.otlp_endpoint
    },
  )
  export_dir = "/exports"

  containers = {
    for name, process in local.processes : name => {
      command = ["sf"]
      args    = ["serve", name]
      port    = process.port
      health  = process.health
      env     = { "SF_${upper(name)}_LISTEN" = "0.0.0.0:${process.port}" }
    }
  }
}
