variable "name" {
  type        = string
  description = "Name prefix of the environment; the secrets are named NAME/..."
}

variable "namespace" {
  type        = string
  description = "Namespace of the sfcloud processes, where the Kubernetes Secret is made."
}

variable "secret_name" {
  type        = string
  description = "Name of the Kubernetes Secret holding the SF_ secret variables."
}

variable "secret_store" {
  type        = string
  description = "ClusterSecretStore reading AWS Secrets Manager."
}

variable "cells" {
  type = map(object({
    host             = string
    database         = string
    superuser_secret = string
  }))
  description = "The database cells (one must be default): read-write host, database and superuser secret."
  validation {
    condition     = contains(keys(var.cells), "default")
    error_message = "The cells must include default (SF_DATABASE_URL)."
  }
}

variable "redis_host" {
  type        = string
  description = "Primary endpoint of Redis."
}

variable "redis_auth_secret" {
  type        = string
  description = "Secrets Manager secret holding the Redis AUTH token (JSON password)."
}

variable "credentials_version" {
  type        = number
  description = "Bump to generate and store a new signing key and service-role password (docs/DEPLOY.md: rotation)."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of the secrets."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every AWS resource (besides the provider's default tags)."
}
