# The database cells of one environment, from the tenant catalog: tenants/cells.yaml says which cells
# the environment has and their sizes; each tenant manifest (tenants/*/*.yaml, tenant.cell) says where
# its tenant lives. A tenant placed on a cell this environment lacks stops the plan.

locals {
  catalog = yamldecode(file("${var.catalog_dir}/cells.yaml"))
  sizes   = local.catalog.sizes
  cells   = { for cell, spec in local.catalog.environments[var.environment] : cell => merge(local.sizes[spec.size], spec) }
  manifests = [
    for path in fileset(var.catalog_dir, "*/*.yaml") : yamldecode(file("${var.catalog_dir}/${path}"))
    if !contains(["templates", "schema"], dirname(path))
  ]
  placement = { for manifest in local.manifests : manifest.tenant.slug => try(manifest.tenant.cell, "default") }
}

resource "terraform_data" "placement" {
  input = local.placement
  lifecycle {
    precondition {
      condition     = contains(keys(local.cells), "default")
      error_message = "tenants/cells.yaml must give ${var.environment} a cell named default (the control plane lives there)."
    }
    precondition {
      condition     = alltrue([for cell in values(local.placement) : contains(keys(local.cells), cell)])
      error_message = "A tenant manifest names a cell that tenants/cells.yaml does not give ${var.environment}."
    }
  }
}

module "database" {
  source   = "../database"
  for_each = local.cells

  name                  = var.name
  cell                  = each.key
  cluster_name          = var.cluster_name
  namespace             = var.namespace
  secret_store          = var.secret_store
  storage_class         = var.storage_class
  image                 = var.image
  database              = "sfcloud"
  instances             = each.value.instances
  cpu                   = each.value.cpu
  memory                = each.value.memory
  shared_buffers        = each.value.shared_buffers
  max_connections       = each.value.max_connections
  storage_gb            = each.value.storage_gb
  wal_storage_gb        = each.value.wal_storage_gb
  backup_retention_days = each.value.backup_retention_days
  credentials_version   = var.credentials_version
  kms_key_arn           = var.kms_key_arn
  tags                  = var.tags
}
