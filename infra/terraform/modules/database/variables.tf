variable "name" {
  type        = string
  description = "Name prefix of the environment, e.g. sfcloud-prod."
}

variable "cell" {
  type        = string
  description = "The cell's name as the product knows it (SF_CELLS, a tenant manifest's tenant.cell)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]*$", var.cell))
    error_message = "A cell name is lower case letters, digits and underscores, starting with a letter (tenants/schema/tenant.schema.json)."
  }
}

variable "cluster_name" {
  type        = string
  description = "EKS cluster running the cell."
}

variable "namespace" {
  type        = string
  description = "Kubernetes namespace of the database cells."
}

variable "secret_store" {
  type        = string
  description = "ClusterSecretStore reading AWS Secrets Manager."
}

variable "storage_class" {
  type        = string
  description = "Storage class of the data and WAL volumes (encrypted gp3)."
}

variable "image" {
  type        = string
  description = "A CloudNativePG-compatible PostgreSQL image with TimescaleDB, pinned by digest (docs/DEPLOY.md)."
  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "Pin the database image by digest (name@sha256:...)."
  }
}

variable "database" {
  type        = string
  description = "Name of the application database in the cell."
}

variable "instances" {
  type        = number
  description = "PostgreSQL instances: 1 primary + replicas; 3 gives a synchronous replica and automatic failover."
  validation {
    condition     = var.instances >= 1 && var.instances <= 5
    error_message = "instances must be between 1 and 5."
  }
}

variable "cpu" {
  type        = string
  description = "CPU request of each instance, e.g. \"2\"."
}

variable "memory" {
  type        = string
  description = "Memory request and limit of each instance, e.g. \"8Gi\"."
}

variable "shared_buffers" {
  type        = string
  description = "PostgreSQL shared_buffers, about a quarter of memory, e.g. \"2GB\"."
}

variable "max_connections" {
  type        = number
  description = "PostgreSQL max_connections: the services' pools on every replica must fit."
  validation {
    condition     = var.max_connections >= 50 && var.max_connections <= 2000
    error_message = "max_connections must be between 50 and 2000."
  }
}

variable "storage_gb" {
  type        = number
  description = "Size of each instance's data volume in GiB (volumes can grow, not shrink)."
  validation {
    condition     = var.storage_gb >= 10
    error_message = "storage_gb must be at least 10."
  }
}

variable "wal_storage_gb" {
  type        = number
  description = "Size of each instance's WAL volume in GiB."
  validation {
    condition     = var.wal_storage_gb >= 5
    error_message = "wal_storage_gb must be at least 5."
  }
}

variable "backup_retention_days" {
  type        = number
  description = "How far back point-in-time recovery reaches (base backups and WAL kept)."
  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 365
    error_message = "backup_retention_days must be between 1 and 365."
  }
}

variable "credentials_version" {
  type        = number
  description = "Bump to generate and store a new superuser password (rotation)."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of the backup bucket and the secret."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every AWS resource (the cell's name is added as tag cell)."
}
