# Each sfcloud process as a Deployment (rolling, zone-spread, probed through gRPC health or the
# gateway's /healthz and /readyz), a Service, a HorizontalPodAutoscaler and a PodDisruptionBudget;
# `sf migrate` as a Job each new image runs before any Deployment rolls; the daily upkeep as CronJobs.

locals {
  labels = { "app.kubernetes.io/part-of" = "sfcloud", "sfcloud.io/environment" = var.environment }
  # A new image runs its migrations once, before the rollout (expand first, docs/DEPLOY.md).
  migrate_job = "migrate-${substr(sha1(var.image), 0, 12)}"
  jobs = {
    storage-maintain = { schedule = "0 2 * * *", args = ["storage", "maintain"] }
    tenants-purge    = { schedule = "0 4 * * *", args = ["tenants", "purge"] }
  }
}

resource "kubernetes_config_map_v1" "environment" {
  metadata {
    name      = "sfcloud"
    namespace = var.namespace
    labels    = local.labels
  }
  data = local.environment
}

resource "kubernetes_service_account_v1" "this" {
  metadata {
    name      = "sfcloud"
    namespace = var.namespace
    labels    = local.labels
  }
  automount_service_account_token = false
}

resource "kubernetes_job_v1" "migrate" {
  metadata {
    name      = local.migrate_job
    namespace = var.namespace
    labels    = local.labels
  }
  spec {
    backoff_limit = 3
    template {
      metadata {
        labels = merge(local.labels, { "app.kubernetes.io/name" = "migrate" })
      }
      spec {
        restart_policy                  = "Never"
        service_account_name            = kubernetes_service_account_v1.this.metadata[0].name
        automount_service_account_token = false
        security_context {
          run_as_non_root = true
          run_as_user     = var.uid
          run_as_group    = var.uid
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        container {
          name              = "migrate"
          image             = var.image
          image_pull_policy = "Always"
          command           = ["sf"]
          args              = ["migrate"]
          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.environment.metadata[0].name
            }
          }
          env_from {
            secret_ref {
              name = var.secret_name
            }
          }
          resources {
            requests = { cpu = "100m", memory = "256Mi" }
            limits   = { cpu = "1", memory = "512Mi" }
          }
          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }
        }
      }
    }
  }
  wait_for_completion = true
  timeouts {
    create = "20m"
  }
}

resource "kubernetes_deployment_v1" "process" {
  #checkov:skip=CKV_K8S_14:The image is var.image, whose validation requires a digest (name@sha256:...); checkov cannot see the value.
  #checkov:skip=CKV_K8S_43:The image is var.image, whose validation requires a digest (name@sha256:...); checkov cannot see the value.
  for_each = local.containers

  metadata {
    name      = each.key
    namespace = var.namespace
    labels    = merge(local.labels, { "app.kubernetes.io/name" = each.key })
  }

  spec {
    replicas = var.sizing[each.key].min_replicas # the autoscaler takes over from here
    selector {
      match_labels = { "app.kubernetes.io/name" = each.key }
    }
    strategy {
      type = "RollingUpdate"
      rolling_update {
        max_unavailable = "0"
        max_surge       = "25%"
      }
    }

    template {
      metadata {
        labels = merge(local.labels, { "app.kubernetes.io/name" = each.key })
      }
      spec {
        service_account_name             = kubernetes_service_account_v1.this.metadata[0].name
        automount_service_account_token  = false
        termination_grace_period_seconds = 45 # > the preStop pause + SF_SHUTDOWN_GRACE_S (10 s) + the last trace and metric exports (5 s + 2 s)
        security_context {
          run_as_non_root = true
          run_as_user     = var.uid
          run_as_group    = var.uid
          fs_group        = var.uid
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }
        topology_spread_constraint {
          max_skew           = 1
          topology_key       = "topology.kubernetes.io/zone"
          when_unsatisfiable = "ScheduleAnyway"
          label_selector {
            match_labels = { "app.kubernetes.io/name" = each.key }
          }
        }

        container {
          name              = each.key
          image             = var.image
          image_pull_policy = "Always"
          command           = each.value.command
          args              = each.value.args

          port {
            name           = each.value.health == "grpc" ? "grpc" : "http"
            container_port = each.value.port
          }

          env_from {
            config_map_ref {
              name = kubernetes_config_map_v1.environment.metadata[0].name
            }
          }
          env_from {
            secret_ref {
              name = var.secret_name
            }
          }
          dynamic "env" {
            for_each = each.value.env
            content {
              name  = env.key
              value = env.value
            }
          }

          # gRPC services: readiness is the health service's overall status (NOT_SERVING while the
          # database or Redis is unreachable); liveness asks "liveness", SERVING while the process
          # answers, so a database failover makes pods unready but restarts none.
          dynamic "readiness_probe" {
            for_each = each.value.health == "grpc" ? [1] : []
            content {
              grpc {
                port = each.value.port
              }
              period_seconds    = 5
              failure_threshold = 2
            }
          }
          dynamic "liveness_probe" {
            for_each = each.value.health == "grpc" ? [1] : []
            content {
              grpc {
                port    = each.value.port
                service = "liveness"
              }
              period_seconds    = 10
              failure_threshold = 3
            }
          }
          dynamic "startup_probe" {
            for_each = each.value.health == "grpc" ? [1] : []
            content {
              grpc {
                port    = each.value.port
                service = "liveness"
              }
              period_seconds    = 2
              failure_threshold = 60
            }
          }
          # The gateway: /readyz checks Redis and the services behind it, /healthz only the process.
          dynamic "readiness_probe" {
            for_each = each.value.health == "http" ? [1] : []
            content {
              http_get {
                path = "/readyz"
                port = each.value.port
              }
              period_seconds    = 5
              failure_threshold = 2
            }
          }
          dynamic "liveness_probe" {
            for_each = each.value.health == "http" ? [1] : []
            content {
              http_get {
                path = "/healthz"
                port = each.value.port
              }
              period_seconds    = 10
              failure_threshold = 3
            }
          }
          dynamic "startup_probe" {
            for_each = each.value.health == "http" ? [1] : []
            content {
              http_get {
                path = "/healthz"
                port = each.value.port
              }
              period_seconds    = 2
              failure_threshold = 60
            }
          }

          lifecycle {
            pre_stop {
              exec {
                command = ["sleep", "5"] # let the load balancer and kube-proxy drop the pod before SIGTERM
              }
            }
          }

          resources {
            requests = { cpu = var.sizing[each.key].cpu, memory = var.sizing[each.key].memory }
            limits   = { cpu = var.sizing[each.key].cpu_limit, memory = var.sizing[each.key].memory }
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
          dynamic "volume_mount" {
            for_each = each.key == "worker" ? [1] : []
            content {
              name       = "exports"
              mount_path = local.export_dir
            }
          }
        }

        volume {
          name = "tmp"
          empty_dir {
            size_limit = "256Mi"
          }
        }
        dynamic "volume" {
          for_each = each.key == "worker" ? [1] : []
          content {
            name = "exports"
            persistent_volume_claim {
              claim_name = var.exports_claim
            }
          }
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [spec[0].replicas] # owned by the autoscaler
    precondition {
      condition     = contains(keys(var.sizing), each.key)
      error_message = "var.sizing has no entry for ${each.key}."
    }
  }
  depends_on = [kubernetes_job_v1.migrate]
}

resource "kubernetes_service_v1" "process" {
  for_each = local.containers
  metadata {
    name      = each.key
    namespace = var.namespace
    labels    = merge(local.labels, { "app.kubernetes.io/name" = each.key })
  }
  spec {
    selector = { "app.kubernetes.io/name" = each.key }
    port {
      name         = each.value.health == "grpc" ? "grpc" : "http"
      port         = each.value.port
      target_port  = each.value.port
      app_protocol = each.value.health == "grpc" ? "kubernetes.io/h2c" : "http"
    }
  }
}

resource "kubernetes_horizontal_pod_autoscaler_v2" "process" {
  for_each = local.containers
  metadata {
    name      = each.key
    namespace = var.namespace
    labels    = local.labels
  }
  spec {
    min_replicas = var.sizing[each.key].min_replicas
    max_replicas = var.sizing[each.key].max_replicas
    scale_target_ref {
      api_version = "apps/v1"
      kind        = "Deployment"
      name        = kubernetes_deployment_v1.process[each.key].metadata[0].name
    }
    metric {
      type = "Resource"
      resource {
        name = "cpu"
        target {
          type                = "Utilization"
          average_utilization = var.sizing[each.key].target_cpu_percent
        }
      }
    }
  }
}

resource "kubernetes_pod_disruption_budget_v1" "process" {
  for_each = local.containers
  metadata {
    name      = each.key
    namespace = var.namespace
    labels    = local.labels
  }
  spec {
    max_unavailable = "1"
    selector {
      match_labels = { "app.kubernetes.io/name" = each.key }
    }
  }
}

# `sf storage maintain` and `sf tenants purge`, daily: what `sf daily` does for a local stack.
resource "kubernetes_cron_job_v1" "daily" {
  for_each = local.jobs
  metadata {
    name      = each.key
    namespace = var.namespace
    labels    = local.labels
  }
  spec {
    schedule                      = each.value.schedule
    concurrency_policy            = "Forbid"
    successful_jobs_history_limit = 3
    failed_jobs_history_limit     = 3
    job_template {
      metadata {
        labels = local.labels
      }
      spec {
        backoff_limit = 2
        template {
          metadata {
            labels = merge(local.labels, { "app.kubernetes.io/name" = each.key })
          }
          spec {
            restart_policy                  = "OnFailure"
            service_account_name            = kubernetes_service_account_v1.this.metadata[0].name
            automount_service_account_token = false
            security_context {
              run_as_non_root = true
              run_as_user     = var.uid
              run_as_group    = var.uid
              fs_group        = var.uid
              seccomp_profile {
                type = "RuntimeDefault"
              }
            }
            container {
              name              = each.key
              image             = var.image
              image_pull_policy = "Always"
              command           = ["sf"]
              args              = each.value.args
              env_from {
                config_map_ref {
                  name = kubernetes_config_map_v1.environment.metadata[0].name
                }
              }
              env_from {
                secret_ref {
                  name = var.secret_name
                }
              }
              resources {
                requests = { cpu = "100m", memory = "256Mi" }
                limits   = { cpu = "1", memory = "1Gi" }
              }
              security_context {
                allow_privilege_escalation = false
                read_only_root_filesystem  = true
                capabilities {
                  drop = ["ALL"]
                }
              }
              volume_mount {
                name       = "exports" # the purge deletes a purged tenant's packages
                mount_path = local.export_dir
              }
            }
            volume {
              name = "exports"
              persistent_volume_claim {
                claim_name = var.exports_claim
              }
            }
          }
        }
      }
    }
  }
}
