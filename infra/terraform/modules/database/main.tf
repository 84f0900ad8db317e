# One database cell: a TimescaleDB cluster run by the CloudNativePG operator (a primary and
# synchronous replicas spread over zones, automatic failover), WAL archived continuously and a base
# backup daily to an encrypted S3 bucket (point-in-time recovery), and its superuser password
# generated ephemerally into AWS Secrets Manager, from where External Secrets hands it to the
# operator; the password never enters Terraform state.

data "aws_partition" "current" {}

locals {
  cluster = "cell-${replace(var.cell, "_", "-")}" # Kubernetes names take no underscores
  tags    = merge(var.tags, { cell = var.cell })
  labels  = { "app.kubernetes.io/part-of" = "sfcloud", "sfcloud.io/cell" = var.cell }
}

resource "aws_s3_bucket" "backups" {
  #checkov:skip=CKV_AWS_18:Only the cell's own pod identity role reaches the bucket; its API calls are in CloudTrail, so server access logs (another bucket per cell) add little.
  #checkov:skip=CKV2_AWS_62:Nothing acts on backup object events; CloudNativePG reports backup status on the Cluster.
  #checkov:skip=CKV_AWS_144:Cross-region copies of the backups are not built yet (docs/DEPLOY.md, "Restore"); recovery is within the region.
  bucket_prefix = "${var.name}-${local.cluster}-"
  force_destroy = false
  tags          = local.tags
}

resource "aws_s3_bucket_versioning" "backups" {
  bucket = aws_s3_bucket.backups.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "backups" {
  bucket = aws_s3_bucket.backups.id
  rule {
    bucket_key_enabled = true
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_public_access_block" "backups" {
  bucket                  = aws_s3_bucket.backups.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "backups" {
  bucket = aws_s3_bucket.backups.id
  rule {
    id     = "backups"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }
}

data "aws_iam_policy_document" "pod_identity_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "backups" {
  statement {
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.backups.arn]
  }
  statement {
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.backups.arn}/*"]
  }
  statement {
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "backups" {
  name               = "${var.name}-${local.cluster}-backups"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "backups" {
  role   = aws_iam_role.backups.id
  policy = data.aws_iam_policy_document.backups.json
}

# CloudNativePG runs the cluster's pods as a service account named after the cluster.
resource "aws_eks_pod_identity_association" "backups" {
  cluster_name    = var.cluster_name
  namespace       = var.namespace
  service_account = local.cluster
  role_arn        = aws_iam_role.backups.arn
  tags            = local.tags
}

ephemeral "random_password" "superuser" {
  length  = 40
  special = false # it goes into a postgresql:// URL unescaped
}

resource "aws_secretsmanager_secret" "superuser" {
  #checkov:skip=CKV2_AWS_57:Rotated by bumping credentials_version, which writes a new value to the secret and to what uses it in one apply; a rotation Lambda would change the secret alone.
  name                    = "${var.name}/cells/${var.cell}/superuser"
  description             = "Superuser of database cell ${var.cell}: what sf migrate uses (SF_DATABASE_URL, SF_CELLS)."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "superuser" {
  secret_id                = aws_secretsmanager_secret.superuser.id
  secret_string_wo         = jsonencode({ username = "postgres", password = ephemeral.random_password.superuser.result })
  secret_string_wo_version = var.credentials_version
}

resource "kubernetes_manifest" "superuser" {
  manifest = {
    apiVersion = "external-secrets.io/v1beta1"
    kind       = "ExternalSecret"
    metadata   = { name = "${local.cluster}-superuser", namespace = var.namespace, labels = local.labels }
    spec = {
      refreshInterval = "1h"
      secretStoreRef  = { kind = "ClusterSecretStore", name = var.secret_store }
      target          = { name = "${local.cluster}-superuser", template = { type = "kubernetes.io/basic-auth" } }
      dataFrom        = [{ extract = { key = aws_secretsmanager_secret.superuser.name } }]
    }
  }
  depends_on = [aws_secretsmanager_secret_version.superuser]
}

resource "kubernetes_manifest" "cluster" {
  manifest = {
    apiVersion = "postgresql.cnpg.io/v1"
    kind       = "Cluster"
    metadata   = { name = local.cluster, namespace = var.namespace, labels = local.labels }
    spec = {
      instances             = var.instances
      imageName             = var.image
      primaryUpdateStrategy = "unsupervised" # replicas first, then a switchover: upgrades without downtime
      minSyncReplicas       = var.instances > 2 ? 1 : 0
      maxSyncReplicas       = var.instances > 2 ? 1 : 0
      enableSuperuserAccess = true
      superuserSecret       = { name = "${local.cluster}-superuser" }
      bootstrap = {
        initdb = {
          database               = var.database
          owner                  = var.database
          postInitApplicationSQL = ["CREATE EXTENSION IF NOT EXISTS timescaledb"]
        }
      }
      postgresql = {
        shared_preload_libraries = ["timescaledb"]
        parameters = {
          max_connections               = tostring(var.max_connections)
          shared_buffers                = var.shared_buffers
          "timescaledb.telemetry_level" = "off"
        }
      }
      storage    = { size = "${var.storage_gb}Gi", storageClass = var.storage_class }
      walStorage = { size = "${var.wal_storage_gb}Gi", storageClass = var.storage_class }
      resources  = { requests = { cpu = var.cpu, memory = var.memory }, limits = { memory = var.memory } }
      affinity   = { enablePodAntiAffinity = true, topologyKey = "topology.kubernetes.io/zone", podAntiAffinityType = "required" }
      backup = {
        retentionPolicy = "${var.backup_retention_days}d"
        barmanObjectStore = {
          destinationPath = "s3://${aws_s3_bucket.backups.bucket}/"
          s3Credentials   = { inheritFromIAMRole = true }
          wal             = { compression = "gzip", maxParallel = 4 }
          data            = { compression = "gzip" }
        }
      }
    }
  }
  depends_on = [kubernetes_manifest.superuser, aws_eks_pod_identity_association.backups]
}

resource "kubernetes_manifest" "daily_backup" {
  manifest = {
    apiVersion = "postgresql.cnpg.io/v1"
    kind       = "ScheduledBackup"
    metadata   = { name = "${local.cluster}-daily", namespace = var.namespace, labels = local.labels }
    spec = {
      schedule             = "0 0 3 * * *" # 03:00 UTC (seconds first)
      backupOwnerReference = "self"
      cluster              = { name = kubernetes_manifest.cluster.manifest.metadata.name }
    }
  }
}
