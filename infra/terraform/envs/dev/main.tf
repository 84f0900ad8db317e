# The dev environment: the smallest stack that runs everything: one zone's NAT, one Redis node, a single-instance cell (tenants/cells.yaml).

locals {
  environment = "dev"
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
  vpc_cidr            = "10.20.0.0/16"
  single_nat_gateway  = true
  kubernetes_version  = "1.33"
  public_access_cidrs = var.public_access_cidrs
  admin_role_arns     = var.admin_role_arns
  redis               = { node_type = "cache.t4g.small", nodes = 1, snapshot_retention_days = 0 }
  log_level           = "DEBUG"
  log_retention_days  = 30
  credentials_version = var.credentials_version
  sizing = {
    tenancy   = { min_replicas = 1, max_replicas = 2, cpu = "100m", cpu_limit = "1", memory = "512Mi", target_cpu_percent = 70 }
    ingest    = { min_replicas = 1, max_replicas = 3, cpu = "200m", cpu_limit = "1", memory = "512Mi", target_cpu_percent = 70 }
    analytics = { min_replicas = 1, max_replicas = 2, cpu = "200m", cpu_limit = "1", memory = "768Mi", target_cpu_percent = 70 }
    worker    = { min_replicas = 1, max_replicas = 2, cpu = "200m", cpu_limit = "1", memory = "768Mi", target_cpu_percent = 70 }
    gateway   = { min_replicas = 1, max_replicas = 2, cpu = "100m", cpu_limit = "1", memory = "512Mi", target_cpu_percent = 70 }
  }
}
