# The export packages' directory (SF_EXPORT_DIR), which every worker and `sf tenants purge` must
# share (docs/DATA-MODEL.md): an encrypted EFS file system mounted read-write-many through a claim.

resource "aws_security_group" "this" {
  name        = "${var.name}-exports"
  description = "EFS of the export packages: NFS from the cluster's pods only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "nfs" {
  security_group_id            = aws_security_group.this.id
  description                  = "NFS from the EKS cluster"
  referenced_security_group_id = var.client_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  tags                         = var.tags
}

resource "aws_efs_file_system" "this" {
  creation_token = "${var.name}-exports"
  encrypted      = true
  kms_key_id     = var.kms_key_arn
  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }
  tags = merge(var.tags, { Name = "${var.name}-exports" })
}

resource "aws_efs_backup_policy" "this" {
  file_system_id = aws_efs_file_system.this.id
  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_efs_mount_target" "this" {
  for_each        = toset(var.subnet_ids)
  file_system_id  = aws_efs_file_system.this.id
  subnet_id       = each.key
  security_groups = [aws_security_group.this.id]
}

resource "kubernetes_storage_class_v1" "efs" {
  metadata {
    name = "efs-exports"
  }
  storage_provisioner = "efs.csi.aws.com"
  reclaim_policy      = "Retain"
  parameters = {
    provisioningMode = "efs-ap"
    fileSystemId     = aws_efs_file_system.this.id
    directoryPerms   = "700"
    uid              = tostring(var.uid)
    gid              = tostring(var.uid)
  }
}

resource "kubernetes_persistent_volume_claim_v1" "this" {
  metadata {
    name      = "exports"
    namespace = var.namespace
  }
  spec {
    access_modes       = ["ReadWriteMany"]
    storage_class_name = kubernetes_storage_class_v1.efs.metadata[0].name
    resources {
      requests = { storage = "100Gi" } # EFS grows as needed; the figure is nominal
    }
  }
  wait_until_bound = false
}
