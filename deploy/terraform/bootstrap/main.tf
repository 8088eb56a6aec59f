# The foundations every environment's Terraform stands on: an encrypted,
# versioned, access-logged S3 bucket for state, a DynamoDB table for state
# locks, and the roles GitHub Actions assumes through OIDC (no long-lived
# keys): agora-<env>-plan (read-only, for pull requests) and
# agora-<env>-deploy (apply, from the protected GitHub environment).

data "aws_partition" "current" {}

locals {
  account      = var.aws_account_id
  bucket       = "agora-tfstate-${local.account}"
  lock_table   = "agora-tfstate-locks"
  oidc_host    = "token.actions.githubusercontent.com"
  oidc_arn     = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : "arn:${data.aws_partition.current.partition}:iam::${local.account}:oidc-provider/${local.oidc_host}"
  managed_arn  = "arn:${data.aws_partition.current.partition}:iam::aws:policy"
  environments = toset(var.environments)
}

module "kms" {
  source = "../modules/kms"

  name               = "agora-tfstate"
  description        = "Agora Terraform state and locks"
  service_principals = []
}

module "access_logs" {
  source = "../modules/s3"

  name                        = "agora-tfstate-access-logs-${local.account}"
  purpose                     = "access-logs"
  current_version_expiry_days = 365
}

module "state" {
  source = "../modules/s3"

  name                           = local.bucket
  purpose                        = "data"
  kms_key_arn                    = module.kms.key_arn
  access_log_bucket              = module.access_logs.name
  noncurrent_version_expiry_days = var.state_version_retention_days
}

module "locks" {
  source = "../modules/dynamodb-table"

  name                     = local.lock_table
  hash_key                 = "LockID"
  range_key                = null
  global_secondary_indexes = []
  ttl_attribute            = null
  stream_view_type         = null
  kms_key_arn              = module.kms.key_arn
  deletion_protection      = true
}

# ------------------------------------------------------- GitHub Actions OIDC

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url             = "https://${local.oidc_host}"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

# Plan: pull requests and pushes to main of the repository.
data "aws_iam_policy_document" "plan_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "${local.oidc_host}:sub"
      values   = ["repo:${var.github_repository}:pull_request", "repo:${var.github_repository}:ref:refs/heads/main"]
    }
  }
}

# Deploy: only jobs running in the repository's GitHub environment of the
# same name (where production has required reviewers).
data "aws_iam_policy_document" "deploy_trust" {
  for_each = local.environments

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["repo:${var.github_repository}:environment:${each.key}"]
    }
  }
}

# The environment's state object and the lock table (both roles).
data "aws_iam_policy_document" "state" {
  for_each = local.environments

  statement {
    sid       = "StateObject"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${module.state.arn}/agora/${each.key}/*"]
  }

  statement {
    sid       = "StateBucket"
    actions   = ["s3:ListBucket"]
    resources = [module.state.arn]
  }

  statement {
    sid       = "StateLock"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable"]
    resources = [module.locks.arn]
  }

  statement {
    sid       = "StateKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.kms.key_arn]
  }
}

# Planning refreshes the cache's auth secret, which read-only access does
# not cover.
data "aws_iam_policy_document" "plan_extra" {
  for_each = local.environments

  source_policy_documents = [data.aws_iam_policy_document.state[each.key].json]

  statement {
    sid       = "RefreshEnvironmentSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:${data.aws_partition.current.partition}:secretsmanager:${var.aws_region}:${local.account}:secret:agora-${each.key}-*"]
  }
}

resource "aws_iam_role" "plan" {
  for_each = local.environments

  name                 = "agora-${each.key}-plan"
  description          = "GitHub Actions: terraform plan of agora ${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.plan_trust.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  for_each = local.environments

  role       = aws_iam_role.plan[each.key].name
  policy_arn = "${local.managed_arn}/ReadOnlyAccess"
}

resource "aws_iam_role_policy" "plan" {
  for_each = local.environments

  name   = "state-and-secrets"
  role   = aws_iam_role.plan[each.key].id
  policy = data.aws_iam_policy_document.plan_extra[each.key].json
}

# Applying creates every kind of resource Agora uses (PowerUserAccess) and
# the IAM roles and policies of the environment, named agora-<env>-*, and
# no others.
data "aws_iam_policy_document" "deploy_iam" {
  for_each = local.environments

  source_policy_documents = [data.aws_iam_policy_document.state[each.key].json]

  statement {
    sid = "EnvironmentRoles"
    actions = [
      "iam:AttachRolePolicy",
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListInstanceProfilesForRole",
      "iam:ListRolePolicies",
      "iam:PassRole",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = ["arn:${data.aws_partition.current.partition}:iam::${local.account}:role/agora-${each.key}-*"]
  }

  statement {
    sid       = "ServiceLinkedRoles"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${data.aws_partition.current.partition}:iam::${local.account}:role/aws-service-role/*"]
  }
}

resource "aws_iam_role" "deploy" {
  for_each = local.environments

  name                 = "agora-${each.key}-deploy"
  description          = "GitHub Actions: terraform apply of agora ${each.key}, image push, schema registration"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "deploy_power_user" {
  for_each = local.environments

  role       = aws_iam_role.deploy[each.key].name
  policy_arn = "${local.managed_arn}/PowerUserAccess"
}

resource "aws_iam_role_policy" "deploy" {
  for_each = local.environments

  name   = "state-and-environment-iam"
  role   = aws_iam_role.deploy[each.key].id
  policy = data.aws_iam_policy_document.deploy_iam[each.key].json
}
