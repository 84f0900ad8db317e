# The services' secret settings. The signing key and the service roles' password are generated
# ephemerally into AWS Secrets Manager (write-only: never in Terraform state); External Secrets
# assembles them with each cell's and Redis's passwords into one Kubernetes Secret of SF_ variables,
# the same names `sf up` sets locally (tests/infra checks they match).

ephemeral "random_password" "signing_key" {
  length  = 64
  special = false
}

ephemeral "random_password" "app" {
  length  = 40
  special = false # it goes into postgresql:// URLs unescaped
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Rotated by bumping credentials_version, which writes a new value to the secret and to what uses it in one apply; a rotation Lambda would change the secret alone.
  for_each = {
    signing-key           = "Key of the internal tokens (SF_SIGNING_KEY)."
    database-app-password = "Password of the service roles sf_tenancy, sf_ingest, ... on every cell (SF_DATABASE_APP_PASSWORD)."
  }
  name                    = "${var.name}/${each.key}"
  description             = each.value
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "signing_key" {
  secret_id                = aws_secretsmanager_secret.this["signing-key"].id
  secret_string_wo         = jsonencode({ value = ephemeral.random_password.signing_key.result })
  secret_string_wo_version = var.credentials_version
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id                = aws_secretsmanager_secret.this["database-app-password"].id
  secret_string_wo         = jsonencode({ value = ephemeral.random_password.app.result })
  secret_string_wo_version = var.credentials_version
}

locals {
  extra_cells = { for cell, spec in var.cells : cell => spec if cell != "default" }
  url         = { for cell, spec in var.cells : cell => "postgresql://postgres:{{ .cell_${cell} }}@${spec.host}:5432/${spec.database}?sslmode=require" }
  variables = {
    SF_DATABASE_URL          = local.url["default"]
    SF_CELLS                 = join(",", [for cell in keys(local.extra_cells) : "${cell}=${local.url[cell]}"])
    SF_DATABASE_APP_PASSWORD = "{{ .app_password }}"
    SF_SIGNING_KEY           = "{{ .signing_key }}"
    SF_REDIS_URL             = "rediss://:{{ .redis_password }}@${var.redis_host}:6379/0"
  }
  references = concat(
    [for cell, spec in var.cells : { secretKey = "cell_${cell}", remoteRef = { key = spec.superuser_secret, property = "password" } }],
    [
      { secretKey = "app_password", remoteRef = { key = aws_secretsmanager_secret.this["database-app-password"].name, property = "value" } },
      { secretKey = "signing_key", remoteRef = { key = aws_secretsmanager_secret.this["signing-key"].name, property = "value" } },
      { secretKey = "redis_password", remoteRef = { key = var.redis_auth_secret, property = "password" } },
    ],
  )
}

resource "kubernetes_manifest" "environment" {
  manifest = {
    apiVersion = "external-secrets.io/v1beta1"
    kind       = "ExternalSecret"
    metadata   = { name = var.secret_name, namespace = var.namespace, labels = { "app.kubernetes.io/part-of" = "sfcloud" } }
    spec = {
      refreshInterval = "1h"
      secretStoreRef  = { kind = "ClusterSecretStore", name = var.secret_store }
      target          = { name = var.secret_name, template = { engineVersion = "v2", data = local.variables } }
      data            = local.references
    }
  }
  depends_on = [aws_secretsmanager_secret_version.signing_key, aws_secretsmanager_secret_version.app]
}
