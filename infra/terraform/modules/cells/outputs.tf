output "cells" {
  description = "Each cell's read-write host, database, superuser secret and backup bucket."
  value = {
    for cell, database in module.database : cell => {
      host             = database.host
      database         = database.database
      superuser_secret = database.superuser_secret
      backup_bucket    = database.backup_bucket
    }
  }
}

output "placement" {
  description = "Tenant slug → cell, as the tenant manifests declare it."
  value       = terraform_data.placement.output
}
