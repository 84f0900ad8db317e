variable "name" {
  type        = string
  description = "Name prefix of the environment, e.g. sfcloud-prod."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the Redis nodes."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets the nodes may be placed in (one per zone)."
}

variable "client_security_group_id" {
  type        = string
  description = "Security group of the pods allowed to connect (the EKS cluster's)."
}

variable "engine_version" {
  type        = string
  description = "Valkey engine version (major.minor)."
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be major.minor, e.g. 7.2."
  }
}

variable "node_type" {
  type        = string
  description = "ElastiCache node type, e.g. cache.r7g.large."
  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "node_type must be an ElastiCache node type (cache.*)."
  }
}

variable "nodes" {
  type        = number
  description = "Nodes: 1 primary + replicas; 2 or more turns on automatic failover across zones."
  validation {
    condition     = var.nodes >= 1 && var.nodes <= 6
    error_message = "nodes must be between 1 and 6."
  }
}

variable "snapshot_retention_days" {
  type        = number
  description = "Days of daily snapshots kept (0: none); the job streams (compaction, exports, alarms) live in Redis."
  validation {
    condition     = var.snapshot_retention_days >= 0 && var.snapshot_retention_days <= 35
    error_message = "snapshot_retention_days must be between 0 and 35."
  }
}

variable "credentials_version" {
  type        = number
  description = "Bump to generate and set a new AUTH token (rotation)."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of the data at rest, the secret and the slow log."
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the slow log."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource (besides the provider's default tags)."
}
