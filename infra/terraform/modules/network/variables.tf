variable "name" {
  type        = string
  description = "Name prefix of the environment, e.g. sfcloud-prod."
}

variable "cidr" {
  type        = string
  description = "The VPC's IPv4 range; a /16 leaves room for six /20 subnets."
  validation {
    condition     = can(cidrnetmask(var.cidr)) && tonumber(split("/", var.cidr)[1]) <= 16
    error_message = "cidr must be an IPv4 CIDR block of /16 or larger."
  }
}

variable "zones" {
  type        = list(string)
  description = "Availability zones to spread over, by name (the database cells keep a replica in each)."
  validation {
    condition     = length(var.zones) >= 2 && length(var.zones) <= 3
    error_message = "Name 2 or 3 availability zones."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for all zones (cheaper, for dev) instead of one per zone."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key encrypting the flow log group."
}

variable "log_retention_days" {
  type        = number
  description = "Days CloudWatch keeps the VPC flow logs."
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource (besides the provider's default tags)."
}
