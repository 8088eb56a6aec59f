terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.90"
    }
  }
}

# The bootstrap keeps its own state locally (it creates the bucket the
# others keep theirs in): commit nothing, keep terraform.tfstate safe, or
# move it into the bucket afterwards with a backend "s3" block and
# `terraform init -migrate-state`.
