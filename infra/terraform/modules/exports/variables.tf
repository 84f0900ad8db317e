variable "name" {
  type        = string
  description = "Name prefix of the environment, e.g. sfcloud-prod."
}

variable "vpc_id" {
  type        = string
  description = "VPC of the file system."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets to put a mount target in (one per zone)."
}

variable "client_security_group_id" {
  type        = string
  description = "Security group of the pods allowed to mount it (the EKS cluster's)."
}

variable "namespace" {
  type        = string
  description = "Namespace of the claim (where the workers run)."
}

variable "uid" {
  type        = number
  description = "User and group id owning the export directory: the image's non-root user."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key encrypting the file system."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every AWS resource (besides the provider's default tags)."
}
