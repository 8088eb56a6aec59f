provider "aws" {
  region              = var.aws_region
  allowed_account_ids = [var.aws_account_id]

  default_tags {
    tags = {
      "agora:project"    = "agora"
      "agora:managed-by" = "terraform"
      "agora:stack"      = "bootstrap"
    }
  }
}
