# The staging environment: production's shape at a smaller size: two of every process, Redis failover; upgrades are rehearsed here.

locals {
  environment = "staging"
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
  vpc_cidr            = "10.30.0.0/16"
  single_nat_gateway  = true
  kubernetes_version  = "1.33"
  public_access_cidrs = var.public_access_cidrs
  admin_role_arns     = var.admin_role_arns
  redis               = { node_type = "cache.t4g.medium", nodes = 2, snapshot_retention_days = 1 }
  log_level           = "INFO"
  log_retention_days  = 90
  credentials_version = var.credentials_version
  sizing = {
    tenancy   = { min_replicas = 2, max_replicas = 3, cpu = "200m", cpu_limit = "1", memory = "512Mi", target_cpu_percent = 70 }
    ingest    = { min_replicas = 2, max_replicas = 4, cpu = "250m", cpu_limit = "1", memory = "768Mi", target_cpu_percent = 70 }
    analytics = { min_replicas = 2, max_replicas = 4, cpu = "250m", cpu_limit = "1", memory = "1Gi", target_cpu_percent = 70 }
    worker    = { min_replicas = 2, max_replicas = 3, cpu = "250m", cpu_limit = "1", memory = "1Gi", target_cpu_percent = 70 }
    gateway   = { min_replicas = 2, max_replicas = 4, cpu = "200m", cpu_limit = "1", memory = "512Mi", target_cpu_percent = 70 }
  }
}
