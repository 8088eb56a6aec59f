data "aws_caller_identity" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  data_bucket = var.purpose == "data"
  log_bucket  = var.purpose == "access-logs"
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is not wanted for these buckets: artifacts are rebuilt by the pipeline, logs and state are versioned in-region; a disaster-recovery region would add it to the environment.
  #checkov:skip=CKV2_AWS_62:No consumer reacts to object events of these buckets.
  #checkov:skip=CKV_AWS_18:Access logging is set in aws_s3_bucket_logging for data buckets; an access-logs bucket is the log target itself and does not log into itself.
  #checkov:skip=CKV_AWS_145:Data buckets use the KMS key (aws_s3_bucket_server_side_encryption_configuration); access-logs buckets must use SSE-S3, the only encryption S3 server access logs and load balancer logs can be delivered to.
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = var.purpose != "data" || (var.kms_key_arn != null && var.access_log_bucket != null)
      error_message = "A data bucket needs kms_key_arn and access_log_bucket."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    bucket_key_enabled = local.data_bucket

    apply_server_side_encryption_by_default {
      sse_algorithm     = local.data_bucket ? "aws:kms" : "AES256"
      kms_master_key_id = local.data_bucket ? var.kms_key_arn : null
    }
  }
}

resource "aws_s3_bucket_logging" "this" {
  count = local.data_bucket ? 1 : 0

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${var.name}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "versions-and-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiry_days
    }

    dynamic "expiration" {
      for_each = var.current_version_expiry_days == null ? [] : [var.current_version_expiry_days]

      content {
        days = expiration.value
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

# TLS only, for everyone; an access-logs bucket also admits the S3 logging
# service and the regional load balancer log delivery, from this account's
# resources only.
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = local.log_bucket ? [1] : []

    content {
      sid       = "S3ServerAccessLogs"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this.arn}/s3/*"]

      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }

  dynamic "statement" {
    for_each = local.log_bucket ? [1] : []

    content {
      sid       = "LoadBalancerLogs"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this.arn}/*/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]

      principals {
        type        = "AWS"
        identifiers = [data.aws_elb_service_account.current.arn]
      }
    }
  }

  dynamic "statement" {
    for_each = local.log_bucket ? [1] : []

    content {
      sid       = "LoadBalancerLogDelivery"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this.arn}/*/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]

      principals {
        type        = "Service"
        identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}
