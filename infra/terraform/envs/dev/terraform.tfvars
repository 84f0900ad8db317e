# dev: what is not secret and rarely changes. CI passes image, database_image, zone_id and
# admin_role_arns with -var (docs/DEPLOY.md); no secret is ever a variable.
region              = "ap-northeast-2"
zones               = ["ap-northeast-2a", "ap-northeast-2c"]
cost_centre         = "sfcloud-dev"
domain              = "dev.sfcloud.example.com"
public_access_cidrs = []
credentials_version = 1
