# The whole sfcloud stack of one environment, composed from the modules beside this one; the
# environments (envs/dev, staging, prod) differ only in the values they pass here.

locals {
  name = "sfcloud-${var.environment}"
  tags = { application = "sfcloud" }
  # Pinned Helm charts of the cluster add-ons; upgrade them here, in one place, through dev first.
  charts = {
    external_secrets = "0.14.4"
    cloudnative_pg   = "0.23.2"
    metrics_server   = "3.12.2"
    otel_collector   = "0.117.1"
  }
  namespaces = { apps = "sfcloud", data = "sfcloud-data", observability = "observability" }
  uid        = 10001 # the image's non-root user (Dockerfile; tests/infra checks they agree)
}

module "encryption" {
  source = "../encryption"
  name   = local.name
  region = var.region
  tags   = local.tags
}

module "network" {
  source             = "../network"
  name               = local.name
  cidr               = var.vpc_cidr
  zones              = var.zones
  single_nat_gateway = var.single_nat_gateway
  kms_key_arn        = module.encryption.key_arn
  log_retention_days = var.log_retention_days
  tags               = local.tags
}

module "cluster" {
  source              = "../cluster"
  name                = local.name
  kubernetes_version  = var.kubernetes_version
  subnet_ids          = module.network.private_subnet_ids
  public_access_cidrs = var.public_access_cidrs
  admin_role_arns     = var.admin_role_arns
  kms_key_arn         = module.encryption.key_arn
  log_retention_days  = var.log_retention_days
  tags                = local.tags
}

module "platform" {
  source       = "../platform"
  name         = local.name
  region       = var.region
  cluster_name = module.cluster.name
  kms_key_arn  = module.encryption.key_arn
  namespaces   = local.namespaces
  chart_versions = {
    external_secrets = local.charts.external_secrets
    cloudnative_pg   = local.charts.cloudnative_pg
    metrics_server   = local.charts.metrics_server
  }
  tags = local.tags
}

module "cells" {
  source              = "../cells"
  name                = local.name
  environment         = var.environment
  catalog_dir         = var.catalog_dir
  cluster_name        = module.cluster.name
  namespace           = module.platform.namespaces.data
  secret_store        = module.platform.secret_store
  storage_class       = module.platform.storage_class
  image               = var.database_image
  credentials_version = var.credentials_version
  kms_key_arn         = module.encryption.key_arn
  tags                = local.tags
}

module "redis" {
  source                   = "../redis"
  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.cluster.cluster_security_group_id
  engine_version           = "7.2"
  node_type                = var.redis.node_type
  nodes                    = var.redis.nodes
  snapshot_retention_days  = var.redis.snapshot_retention_days
  credentials_version      = var.credentials_version
  kms_key_arn              = module.encryption.key_arn
  log_retention_days       = var.log_retention_days
  tags                     = local.tags
}

module "secrets" {
  source              = "../secrets"
  name                = local.name
  namespace           = module.platform.namespaces.apps
  secret_name         = "sfcloud-secrets"
  secret_store        = module.platform.secret_store
  cells               = module.cells.cells
  redis_host          = module.redis.host
  redis_auth_secret   = module.redis.auth_secret
  credentials_version = var.credentials_version
  kms_key_arn         = module.encryption.key_arn
  tags                = local.tags
}

module "observability" {
  source             = "../observability"
  name               = local.name
  region             = var.region
  cluster_name       = module.cluster.name
  namespace          = module.platform.namespaces.observability
  chart_version      = local.charts.otel_collector
  kms_key_arn        = module.encryption.key_arn
  log_retention_days = var.log_retention_days
  tags               = local.tags
}

module "exports" {
  source                   = "../exports"
  name                     = local.name
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  client_security_group_id = module.cluster.cluster_security_group_id
  namespace                = module.platform.namespaces.apps
  uid                      = local.uid
  kms_key_arn              = module.encryption.key_arn
  tags                     = local.tags
}

module "services" {
  source        = "../services"
  environment   = var.environment
  namespace     = module.platform.namespaces.apps
  image         = var.image
  secret_name   = module.secrets.secret_name
  exports_claim = module.exports.claim
  otlp_endpoint = module.observability.otlp_endpoint
  public_url    = "https://app.${var.domain}/"
  log_level     = var.log_level
  sizing        = var.sizing
  uid           = local.uid
}

module "ingress" {
  source        = "../ingress"
  name          = local.name
  domain        = var.domain
  zone_id       = var.zone_id
  namespace     = module.platform.namespaces.apps
  ingress_class = module.platform.ingress_class
  gateway       = module.services.services.gateway
  ingest        = module.services.services.ingest
  tags          = local.tags
}
