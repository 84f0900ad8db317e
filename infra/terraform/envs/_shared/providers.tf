# Shared by every environment root (symlinked into envs/dev, staging, prod): the providers, pinned,
# and the tags every AWS resource carries. Modules declare no providers of their own.

terraform {
  required_version = "~> 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.36"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      environment = local.environment
      cost_centre = var.cost_centre
      cell        = "shared" # a cell's own resources override it with the cell's name
      managed_by  = "terraform"
    }
  }
}

locals {
  kubernetes = {
    host                   = module.stack.cluster_endpoint
    cluster_ca_certificate = base64decode(module.stack.cluster_certificate_authority)
    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.stack.cluster_name, "--region", var.region]
    }
  }
}

provider "kubernetes" {
  host                   = local.kubernetes.host
  cluster_ca_certificate = local.kubernetes.cluster_ca_certificate
  exec {
    api_version = local.kubernetes.exec.api_version
    command     = local.kubernetes.exec.command
    args        = local.kubernetes.exec.args
  }
}

provider "helm" {
  kubernetes = local.kubernetes
}
