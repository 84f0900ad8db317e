variable "name" {
  type        = string
  description = "Cluster name, e.g. sfcloud-prod."
}

variable "kubernetes_version" {
  type        = string
  description = "EKS Kubernetes minor version; upgrade one minor at a time (docs/DEPLOY.md)."
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.33."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the cluster's nodes and control-plane interfaces."
  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two availability zones."
  }
}

variable "public_access_cidrs" {
  type        = list(string)
  description = "Networks that may reach the Kubernetes API from the internet; empty keeps the endpoint private."
  validation {
    condition     = !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "The Kubernetes API must not be open to the whole internet."
  }
}

variable "admin_role_arns" {
  type        = list(string)
  description = "IAM roles given cluster-admin (the deploy role of CI, the operators' role)."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key encrypting Kubernetes secrets and the control-plane log group."
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the control-plane logs (api, audit, authenticator, ...)."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource (besides the provider's default tags)."
}
