variable "name" {
  type        = string
  description = "Name prefix of the environment, e.g. sfcloud-prod."
}

variable "region" {
  type        = string
  description = "AWS region X-Ray and CloudWatch receive the traces and metrics in."
}

variable "cluster_name" {
  type        = string
  description = "EKS cluster the collector runs in."
}

variable "namespace" {
  type        = string
  description = "Namespace of the collector."
}

variable "chart_version" {
  type        = string
  description = "Pinned version of the opentelemetry-collector Helm chart."
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.chart_version))
    error_message = "chart_version must be exact (x.y.z)."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key the metrics' log group is encrypted with."
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the metrics' log events."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every AWS resource (besides the provider's default tags)."
}
