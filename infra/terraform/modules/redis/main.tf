# Managed Redis (ElastiCache for Valkey, Redis-compatible): a primary with replicas in other zones
# and automatic failover, TLS in transit, encrypted at rest, an AUTH token generated ephemerally into
# Secrets Manager (never in state). Cluster mode (sharding) stays off: the services use redis-py's
# single-endpoint client and keys such as compact:due that are not hash-tagged (infra/terraform/README.md).

locals {
  ha = var.nodes > 1
}

resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name}-redis"
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-redis"
  description = "Redis: reachable from the cluster's pods only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "cluster" {
  security_group_id            = aws_security_group.this.id
  description                  = "Redis TLS from the EKS cluster"
  referenced_security_group_id = var.client_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
  tags                         = var.tags
}

resource "aws_cloudwatch_log_group" "slow" {
  name              = "/sfcloud/${var.name}/redis-slow"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

ephemeral "random_password" "auth" {
  length  = 48
  special = false # ElastiCache allows only some symbols; the token also goes into a rediss:// URL
}

resource "aws_secretsmanager_secret" "auth" {
  #checkov:skip=CKV2_AWS_57:Rotated by bumping credentials_version, which writes a new value to the secret and to what uses it in one apply; a rotation Lambda would change the secret alone.
  name                    = "${var.name}/redis"
  description             = "AUTH token of the environment's Redis (SF_REDIS_URL)."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "auth" {
  secret_id                = aws_secretsmanager_secret.auth.id
  secret_string_wo         = jsonencode({ password = ephemeral.random_password.auth.result })
  secret_string_wo_version = var.credentials_version
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV_AWS_31:TLS is on and the AUTH token is set through the write-only auth_token_wo (kept out of state), which checkov 3.3 does not know.
  replication_group_id       = "${var.name}-redis"
  description                = "sfcloud ${var.name}: live values, sessions, rate limits, job streams"
  engine                     = "valkey"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  num_cache_clusters         = var.nodes
  automatic_failover_enabled = local.ha
  multi_az_enabled           = local.ha
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.this.id]
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token_wo              = ephemeral.random_password.auth.result
  auth_token_wo_version      = var.credentials_version
  auth_token_update_strategy = "ROTATE" # a new token is accepted beside the old one while the pods catch up
  snapshot_retention_limit   = var.snapshot_retention_days
  auto_minor_version_upgrade = true
  apply_immediately          = false

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = var.tags
}
