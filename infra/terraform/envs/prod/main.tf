# The prod environment: three zones, a NAT gateway and a Redis node in each, cells sized in tenants/cells.yaml.

locals {
  environment = "prod"
}

module "stack" {
  source              = "../../modules/stack"
  environment         = local.environment
  region              = var.region
  domain              = var.domain
  zone_id             = var.zone_id
  image               = var.image
  database_image      = var.database_image
  catalog_dir         = "${path.root}/../../../../tenants"
  zones               = var.zones
  vpc_cidr            = "10.40.0.0/16"
  single_nat_gateway  = false
  kubernetes_version  = "1.33"
  public_access_cidrs = var.public_access_cidrs
  admin_role_arns     = var.admin_role_arns
  redis               = { node_type = "cache.r7g.large", nodes = 3, snapshot_retention_days = 7 }
  log_level           = "INFO"
  log_retention_days  = 365
  credentials_version = var.credentials_version
  sizing = {
    tenancy   = { min_replicas = 2, max_replicas = 6, cpu = "500m", cpu_limit = "2", memory = "1Gi", target_cpu_percent = 70 }
    ingest    = { min_replicas = 3, max_replicas = 20, cpu = "1", cpu_limit = "2", memory = "1536Mi", target_cpu_percent = 70 }
    analytics = { min_replicas = 2, max_replicas = 12, cpu = "1", cpu_limit = "2", memory = "2Gi", target_cpu_percent = 70 }
    worker    = { min_replicas = 2, max_replicas = 10, cpu = "500m", cpu_limit = "2", memory = "2Gi", target_cpu_percent = 70 }
    gateway   = { min_replicas = 3, max_replicas = 12, cpu = "500m", cpu_limit = "2", memory = "1Gi", target_cpu_percent = 70 }
  }
}
