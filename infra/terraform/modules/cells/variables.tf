variable "name" {
  type        = string
  description = "Name prefix of the environment, e.g. sfcloud-prod."
}

variable "environment" {
  type        = string
  description = "Environment whose cells tenants/cells.yaml lists (dev, staging, prod)."
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "catalog_dir" {
  type        = string
  description = "The tenant catalog folder (tenants/): cells.yaml and the tenant manifests."
}

variable "cluster_name" {
  type        = string
  description = "EKS cluster running the cells."
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
  description = "Storage class of the cells' volumes."
}

variable "image" {
  type        = string
  description = "PostgreSQL + TimescaleDB image of every cell, pinned by digest."
}

variable "credentials_version" {
  type        = number
  description = "Bump to generate new superuser passwords for every cell."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of the backups and secrets."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every AWS resource (each cell adds tag cell)."
}
