variable "environment" {
  type        = string
  description = "Environment name (dev, staging, prod), a label on every object."
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "namespace" {
  type        = string
  description = "Namespace of the sfcloud processes."
}

variable "image" {
  type        = string
  description = "The sfcloud image (Dockerfile), pinned by digest: every process runs it."
  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "Pin the image by digest (name@sha256:...), so a rollout is exactly one build."
  }
}

variable "secret_name" {
  type        = string
  description = "Kubernetes Secret with the SF_ secret variables (modules/secrets)."
}

variable "exports_claim" {
  type        = string
  description = "ReadWriteMany claim of the export directory (modules/exports)."
}

variable "otlp_endpoint" {
  type        = string
  description = "OTLP/gRPC endpoint of the OpenTelemetry collector."
  validation {
    condition     = can(regex("^https?://", var.otlp_endpoint))
    error_message = "otlp_endpoint must be an http:// or https:// URL."
  }
}

variable "public_url" {
  type        = string
  description = "The web app's public URL (links in emails, SF_PUBLIC_URL)."
  validation {
    condition     = startswith(var.public_url, "https://")
    error_message = "public_url must be https://."
  }
}

variable "log_level" {
  type        = string
  description = "SF_LOG_LEVEL of every process."
  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "sizing" {
  type = map(object({
    min_replicas       = number
    max_replicas       = number
    cpu                = string
    cpu_limit          = string
    memory             = string
    target_cpu_percent = number
  }))
  description = "Per process (tenancy, ingest, analytics, worker, gateway): replicas, CPU request and limit, memory, autoscaling target."
  validation {
    condition     = alltrue([for size in values(var.sizing) : size.min_replicas >= 1 && size.max_replicas >= size.min_replicas])
    error_message = "Each process needs min_replicas >= 1 and max_replicas >= min_replicas."
  }
  validation {
    condition     = alltrue([for size in values(var.sizing) : size.target_cpu_percent >= 20 && size.target_cpu_percent <= 90])
    error_message = "target_cpu_percent must be between 20 and 90."
  }
}

variable "uid" {
  type        = number
  description = "User and group id the containers run as: the image's non-root user (Dockerfile)."
  validation {
    condition     = var.uid >= 1000
    error_message = "uid must be a non-root, non-system id (>= 1000)."
  }
}
