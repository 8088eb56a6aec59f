data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_root = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
}

# The key policy: the account administers the key and grants its use through
# IAM policies (so each role names exactly the key it may use); CloudWatch
# Logs may encrypt this account's log groups in this region; the listed
# services (CloudWatch alarms publishing to the encrypted alarm topic) may
# use it, as AWS documents for them.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:This is a key policy: Resource "*" means this key only, and the account statement is AWS's default key policy, which lets IAM policies (each naming this key) grant its use.
  #checkov:skip=CKV_AWS_111:Same key policy: "*" is this key; the account administers it, CloudWatch Logs may use it for this account's log groups only, the listed services to decrypt and generate data keys only.
  #checkov:skip=CKV_AWS_356:Same key policy: a key policy's Resource "*" cannot name anything but the key it is attached to.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }

  dynamic "statement" {
    for_each = length(var.service_principals) > 0 ? [1] : []

    content {
      sid       = "ServicesUse"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = var.service_principals
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.deletion_window_in_days
  is_enabled              = true
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
