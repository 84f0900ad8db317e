# State in S3 with S3-native locking (use_lockfile; Terraform 1.11 deprecates the DynamoDB lock table).
# The bucket is per account: terraform init -backend-config="bucket=<state bucket>" -backend-config="region=<region>"
terraform {
  backend "s3" {
    key          = "sfcloud/staging/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
