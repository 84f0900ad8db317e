variable "name" {
  type        = string
  description = "Name prefix of the environment, e.g. sfcloud-prod."
}

variable "region" {
  type        = string
  description = "AWS region whose CloudWatch Logs service may use the key."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource (besides the provider's default tags)."
}
