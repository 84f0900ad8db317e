variable "environment" {
  type        = string
  description = "Environment: dev, staging or prod (names, tags, the cells of tenants/cells.yaml)."
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "region" {
  type        = string
  description = "AWS region of the environment."
}

variable "domain" {
  type        = string
  description = "DNS domain of the environment (app.DOMAIN, grpc.DOMAIN)."
}

variable "zone_id" {
  type        = string
  description = "Route 53 hosted zone of the domain."
}

variable "image" {
  type        = string
  description = "The sfcloud image, pinned by digest."
}

variable "database_image" {
  type        = string
  description = "CloudNativePG-compatible PostgreSQL + TimescaleDB image, pinned by digest."
}

variable "catalog_dir" {
  type        = string
  description = "The tenant catalog folder (tenants/), read for the cells and tenant placement."
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 range of the VPC."
}

variable "zones" {
  type        = list(string)
  description = "Availability zones to spread over, by name."
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for all zones (dev) instead of one per zone."
}

variable "kubernetes_version" {
  type        = string
  description = "EKS Kubernetes minor version."
}

variable "public_access_cidrs" {
  type        = list(string)
  description = "Networks that may reach the Kubernetes API from the internet; empty keeps it private."
}

variable "admin_role_arns" {
  type        = list(string)
  description = "IAM roles given cluster-admin."
}

variable "redis" {
  type        = object({ node_type = string, nodes = number, snapshot_retention_days = number })
  description = "Redis node type, node count (2+ for failover) and snapshot retention."
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
  description = "Per process: replicas, CPU request and limit, memory, autoscaling target."
}

variable "log_level" {
  type        = string
  description = "SF_LOG_LEVEL of every process."
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps logs (flow logs, control plane, Redis slow log)."
}

variable "credentials_version" {
  type        = number
  description = "Bump to generate new passwords, AUTH token and signing key (docs/DEPLOY.md: rotation)."
  validation {
    condition     = var.credentials_version >= 1
    error_message = "credentials_version starts at 1."
  }
}
