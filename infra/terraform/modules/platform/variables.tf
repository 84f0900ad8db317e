variable "name" {
  type        = string
  description = "Name prefix of the environment; External Secrets may read secrets named NAME/*."
}

variable "region" {
  type        = string
  description = "AWS region of the secrets."
}

variable "cluster_name" {
  type        = string
  description = "EKS cluster the pod identity associations belong to."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of the secrets (External Secrets decrypts with it) and of the gp3 volumes."
}

variable "namespaces" {
  type        = object({ apps = string, data = string, observability = string })
  description = "Namespaces of the sfcloud processes, the database cells and the OpenTelemetry collector."
}

variable "chart_versions" {
  type        = object({ external_secrets = string, cloudnative_pg = string, metrics_server = string })
  description = "Pinned Helm chart versions of the cluster add-ons."
  validation {
    condition     = alltrue([for version in values(var.chart_versions) : can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", version))])
    error_message = "Chart versions must be exact (x.y.z)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every AWS resource (besides the provider's default tags)."
}
