# An OpenTelemetry collector (two replicas) receiving the services' traces and metrics over OTLP/gRPC and
# sending the traces to AWS X-Ray and the metrics to CloudWatch (as embedded-metric-format logs in a log
# group of their own, namespace "sfcloud": the counts, call and request durations of
# services/runtime/metrics.py); the services point at it with OTEL_EXPORTER_OTLP_ENDPOINT
# (modules/services).

locals {
  service_account   = "otel-collector"
  metrics_log_group = "/sfcloud/${var.name}/metrics"
}

data "aws_iam_policy_document" "pod_identity_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

data "aws_partition" "current" {}

resource "aws_iam_role" "collector" {
  name               = "${var.name}-otel-collector"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "xray" {
  role       = aws_iam_role.collector.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"
}

resource "aws_cloudwatch_log_group" "metrics" {
  name              = local.metrics_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# The EMF exporter writes its log streams into that group only; the group itself is made here.
data "aws_iam_policy_document" "metrics" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = [aws_cloudwatch_log_group.metrics.arn, "${aws_cloudwatch_log_group.metrics.arn}:*"]
  }
}

resource "aws_iam_role_policy" "metrics" {
  name   = "cloudwatch-metrics"
  role   = aws_iam_role.collector.id
  policy = data.aws_iam_policy_document.metrics.json
}

resource "aws_eks_pod_identity_association" "collector" {
  cluster_name    = var.cluster_name
  namespace       = var.namespace
  service_account = local.service_account
  role_arn        = aws_iam_role.collector.arn
  tags            = var.tags
}

resource "helm_release" "collector" {
  name       = "otel-collector"
  namespace  = var.namespace
  repository = "https://open-telemetry.github.io/opentelemetry-helm-charts"
  chart      = "opentelemetry-collector"
  version    = var.chart_version
  values = [yamlencode({
    mode             = "deployment"
    replicaCount     = 2
    fullnameOverride = "otel-collector"
    image            = { repository = "otel/opentelemetry-collector-contrib" }
    serviceAccount   = { create = true, name = local.service_account }
    resources        = { requests = { cpu = "200m", memory = "256Mi" }, limits = { memory = "512Mi" } }
    config = {
      exporters = {
        awsxray = { region = var.region }
        # Each metric with its own attributes only: CloudWatch bills every name and dimension set, and the
        # exporter's default rollups would triple the call and request histograms' sets.
        awsemf = {
          region                  = var.region
          namespace               = "sfcloud"
          log_group_name          = local.metrics_log_group
          dimension_rollup_option = "NoDimensionRollup"
        }
      }
      service = {
        pipelines = {
          traces  = { receivers = ["otlp"], processors = ["memory_limiter", "batch"], exporters = ["awsxray"] }
          metrics = { receivers = ["otlp"], processors = ["memory_limiter", "batch"], exporters = ["awsemf"] }
        }
      }
    }
  })]
}
