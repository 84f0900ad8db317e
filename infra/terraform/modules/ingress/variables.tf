variable "name" {
  type        = string
  description = "Name prefix of the environment; the ALB's ingress group."
}

variable "domain" {
  type        = string
  description = "DNS domain of the environment: the web app is app.DOMAIN, device gRPC grpc.DOMAIN."
  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.domain))
    error_message = "domain must be a lower-case DNS name."
  }
}

variable "zone_id" {
  type        = string
  description = "Route 53 hosted zone of the domain (records and certificate validation)."
}

variable "namespace" {
  type        = string
  description = "Namespace of the sfcloud Services."
}

variable "ingress_class" {
  type        = string
  description = "Ingress class making internet-facing ALBs."
}

variable "gateway" {
  type        = object({ name = string, port = number })
  description = "The gateway's Service (HTTPS, WebSockets)."
}

variable "ingest" {
  type        = object({ name = string, port = number })
  description = "The ingest Service (gRPC from devices)."
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every AWS resource (besides the provider's default tags)."
}
