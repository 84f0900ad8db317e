# The public entry: one internet-facing ALB (EKS Auto Mode's controller) with an ACM certificate,
# TLS 1.2+ only: HTTPS and WebSockets to the gateway on app.DOMAIN, gRPC to ingest on grpc.DOMAIN
# (devices and edge agents). DNS names and certificate validation in the Route 53 zone.

locals {
  hosts = { app = "app.${var.domain}", grpc = "grpc.${var.domain}" }
  common = {
    "alb.ingress.kubernetes.io/group.name"               = var.name
    "alb.ingress.kubernetes.io/target-type"              = "ip"
    "alb.ingress.kubernetes.io/certificate-arn"          = aws_acm_certificate_validation.this.certificate_arn
    "alb.ingress.kubernetes.io/ssl-policy"               = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    "alb.ingress.kubernetes.io/listen-ports"             = jsonencode([{ HTTPS = 443 }])
    "alb.ingress.kubernetes.io/load-balancer-attributes" = "idle_timeout.timeout_seconds=3600,routing.http.drop_invalid_header_fields.enabled=true"
  }
  routes = {
    app = {
      service = var.gateway
      annotations = {
        "alb.ingress.kubernetes.io/healthcheck-path" = "/readyz"
      }
    }
    grpc = {
      service = var.ingest
      annotations = {
        "alb.ingress.kubernetes.io/backend-protocol-version" = "GRPC"
        "alb.ingress.kubernetes.io/healthcheck-path"         = "/grpc.health.v1.Health/Check"
        "alb.ingress.kubernetes.io/success-codes"            = "0"
      }
    }
  }
}

resource "aws_acm_certificate" "this" {
  domain_name               = local.hosts.app
  subject_alternative_names = [local.hosts.grpc]
  validation_method         = "DNS"
  tags                      = var.tags
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = { for option in aws_acm_certificate.this.domain_validation_options : option.domain_name => option }
  zone_id  = var.zone_id
  name     = each.value.resource_record_name
  type     = each.value.resource_record_type
  records  = [each.value.resource_record_value]
  ttl      = 300
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for record in aws_route53_record.validation : record.fqdn]
}

resource "kubernetes_ingress_v1" "route" {
  for_each = local.routes
  metadata {
    name        = each.key
    namespace   = var.namespace
    annotations = merge(local.common, each.value.annotations)
  }
  spec {
    ingress_class_name = var.ingress_class
    rule {
      host = local.hosts[each.key]
      http {
        path {
          path      = "/"
          path_type = "Prefix"
          backend {
            service {
              name = each.value.service.name
              port {
                number = each.value.service.port
              }
            }
          }
        }
      }
    }
  }
  wait_for_load_balancer = true
}

resource "aws_route53_record" "host" {
  for_each = local.hosts
  zone_id  = var.zone_id
  name     = each.value
  type     = "CNAME"
  ttl      = 60
  records  = [kubernetes_ingress_v1.route[each.key].status[0].load_balancer[0].ingress[0].hostname]
}
