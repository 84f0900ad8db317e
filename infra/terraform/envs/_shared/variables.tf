# The inputs every environment takes from outside (terraform.tfvars, or -var in CI for the images).

variable "region" {
  type        = string
  description = "AWS region of the environment."
  validation {
    condition     = can(regex("^[a-z]{2}-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as ap-northeast-2."
  }
}

variable "zones" {
  type        = list(string)
  description = "Availability zones of the region to use, by name (2 for dev and staging, 3 for prod)."
}

variable "cost_centre" {
  type        = string
  description = "Cost centre every resource is tagged with (billing reports)."
}

variable "domain" {
  type        = string
  description = "DNS domain of the environment: app.DOMAIN serves the web app, grpc.DOMAIN the devices."
}

variable "zone_id" {
  type        = string
  description = "Route 53 hosted zone of the domain."
  validation {
    condition     = can(regex("^Z[A-Z0-9]+$", var.zone_id))
    error_message = "zone_id must be a Route 53 hosted zone id (Z...)."
  }
}

variable "image" {
  type        = string
  description = "The sfcloud image to run, pinned by digest (CI passes the build's)."
}

variable "database_image" {
  type        = string
  description = "CloudNativePG-compatible PostgreSQL + TimescaleDB image, pinned by digest (docs/DEPLOY.md)."
}

variable "admin_role_arns" {
  type        = list(string)
  description = "IAM roles given cluster-admin (CI's deploy role, the operators' role)."
  validation {
    condition     = length(var.admin_role_arns) > 0
    error_message = "Name at least one admin role, or nobody can reach the cluster."
  }
}

variable "public_access_cidrs" {
  type        = list(string)
  description = "Networks that may reach the Kubernetes API from the internet (the office, CI); empty: private only."
}

variable "credentials_version" {
  type        = number
  description = "Bump to generate new database passwords, Redis AUTH token and signing key (docs/DEPLOY.md)."
}
