data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  create_log_group = var.log_group_name == null
  log_group_name   = local.create_log_group ? aws_cloudwatch_log_group.this[0].name : var.log_group_name
  log_group_arn    = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"

  # With outbox_relay = streams the table's stream relays the outbox (the
  # streams function) and no function polls it; else every invocation
  # relays the rows it wrote before it returns. The streams function never
  # polls: it publishes what the stream hands it.
  outbox_setting = var.outbox_relay == "streams" ? "off" : "inline"

  kafka_topics = distinct([for s in values(var.kafka_event_sources) : s.topic])
  kafka_groups = [for s in values(var.kafka_event_sources) : s.consumer_group_id]
}

resource "aws_cloudwatch_log_group" "this" {
  count = local.create_log_group ? 1 : 0

  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# ------------------------------------------------------------------ network

resource "aws_security_group" "this" {
  name        = "${var.name}-lambda"
  description = "Functions of ${var.name}: no inbound, outbound HTTPS and the named data stores"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-lambda" })
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to AWS APIs and the API (through the VPC endpoints or NAT)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "targets" {
  for_each = var.egress

  security_group_id            = aws_security_group.this.id
  description                  = "To ${each.key} on ${each.value.port}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.security_group_id
}

# ------------------------------------------------------------ dead letters

# Batches the event source mappings give up on, and failed asynchronous
# invocations, land here with their metadata (topic, partition, offsets or
# stream sequence numbers) for inspection and redrive.
resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq.arn]

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

  # The schedule's failed deliveries of the jobs function.
  dynamic "statement" {
    for_each = var.schedule != null ? [1] : []

    content {
      sid       = "ScheduleDeadLetters"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.dlq.arn]

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = ["arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/${var.name}-jobs"]
      }
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

# --------------------------------------------------------------------- role

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-lambda"
  description        = "Functions of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "service" {
  name   = "service"
  role   = aws_iam_role.this.id
  policy = var.policy_json
}

# What the functions need to run, beyond the service's own data: their log
# group, traces, network interfaces in the VPC, the key of their
# environment and dead-letter queue, and their event sources.
data "aws_iam_policy_document" "runtime" {
  #checkov:skip=CKV_AWS_111:The EC2 network-interface actions are granted the way AWS's AWSLambdaVPCAccessExecutionRole grants them: Lambda creates the functions' interfaces before their IDs exist, so they cannot be named.
  #checkov:skip=CKV_AWS_356:Same statement: EC2 Describe calls and the functions' not-yet-existing network interfaces cannot be named; every other statement names its resources.
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    sid       = "Traces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }

  statement {
    sid = "NetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeVpcs",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  dynamic "statement" {
    for_each = var.msk != null && length(var.kafka_event_sources) > 0 ? [var.msk] : []

    content {
      sid       = "KafkaEventSourceCluster"
      actions   = ["kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers", "kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"]
      resources = [statement.value.cluster_arn]
    }
  }

  dynamic "statement" {
    for_each = var.msk != null && length(var.kafka_event_sources) > 0 ? [var.msk] : []

    content {
      sid       = "KafkaEventSourceTopics"
      actions   = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
      resources = [for t in local.kafka_topics : "${statement.value.topic_arn_prefix}/${t}"]
    }
  }

  dynamic "statement" {
    for_each = var.msk != null && length(var.kafka_event_sources) > 0 ? [var.msk] : []

    content {
      sid       = "KafkaEventSourceGroups"
      actions   = ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"]
      resources = [for g in local.kafka_groups : "${statement.value.group_arn_prefix}/${g}"]
    }
  }

  dynamic "statement" {
    for_each = var.dynamodb_stream == null ? [] : [var.dynamodb_stream]

    content {
      sid       = "OutboxStream"
      actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
      resources = [statement.value.stream_arn]
    }
  }
}

resource "aws_iam_role_policy" "runtime" {
  name   = "runtime"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.runtime.json
}

# ---------------------------------------------------------------- functions

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:Code signing is the code_signing_config_arn input (AWS Signer profiles sign packages uploaded to S3); the pipeline deploys the zip it built and tested in the same run.
  for_each = var.handlers

  function_name    = "${var.name}-${each.key}"
  description      = "Agora ${var.service}: ${each.key} handler"
  role             = aws_iam_role.this.arn
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  memory_size      = each.value.memory_mb
  timeout          = each.value.timeout_seconds
  layers           = var.layers

  reserved_concurrent_executions = each.value.reserved_concurrency
  code_signing_config_arn        = var.code_signing_config_arn
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = merge(var.environment, {
      AGORA_SERVICE        = var.service
      AGORA_LAMBDA_HANDLER = each.key
      AGORA_LAMBDA_OUTBOX  = each.key == "streams" ? "off" : local.outbox_setting
    })
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.this.id]
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  logging_config {
    log_format = "Text"
    log_group  = local.log_group_name
  }

  tags = merge(var.tags, { "agora:handler" = each.key })

  depends_on = [aws_iam_role_policy.runtime, aws_iam_role_policy.service, aws_cloudwatch_log_group.this]

  lifecycle {
    precondition {
      condition     = length(var.kafka_event_sources) == 0 || contains(keys(var.handlers), "kafka")
      error_message = "kafka_event_sources need a kafka handler."
    }

    precondition {
      condition     = var.outbox_relay == "inline" || (contains(keys(var.handlers), "streams") && var.dynamodb_stream != null)
      error_message = "outbox_relay = streams needs a streams handler and a dynamodb_stream."
    }
  }
}

# ------------------------------------------------------------ event sources

resource "aws_lambda_event_source_mapping" "kafka" {
  for_each = var.kafka_event_sources

  function_name                      = aws_lambda_function.this["kafka"].arn
  event_source_arn                   = var.msk.cluster_arn
  topics                             = [each.value.topic]
  starting_position                  = each.value.starting_position
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = each.value.batching_window_second

  amazon_managed_kafka_event_source_config {
    consumer_group_id = each.value.consumer_group_id
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dlq.arn
    }
  }

  depends_on = [aws_iam_role_policy.runtime]

  lifecycle {
    precondition {
      condition     = var.msk != null
      error_message = "kafka_event_sources need msk."
    }
  }
}

resource "aws_lambda_event_source_mapping" "stream" {
  count = var.dynamodb_stream != null && contains(keys(var.handlers), "streams") ? 1 : 0

  function_name                      = aws_lambda_function.this["streams"].arn
  event_source_arn                   = var.dynamodb_stream.stream_arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.dynamodb_stream.batch_size
  maximum_batching_window_in_seconds = var.dynamodb_stream.batching_window_second
  maximum_retry_attempts             = var.dynamodb_stream.maximum_retry_attempts
  bisect_batch_on_function_error     = true
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "filter_criteria" {
    for_each = var.dynamodb_stream.filter_pattern == null ? [] : [var.dynamodb_stream.filter_pattern]

    content {
      filter {
        pattern = filter_criteria.value
      }
    }
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.dlq.arn
    }
  }

  depends_on = [aws_iam_role_policy.runtime]
}

# ----------------------------------------------------------------- schedule

# The periodic jobs (expiries, the carrier, the email dispatcher): one
# round each time the schedule fires. Failed asynchronous invocations are
# retried twice, then go to the dead-letter queue.
resource "aws_cloudwatch_event_rule" "jobs" {
  count = var.schedule != null ? 1 : 0

  name                = "${var.name}-jobs"
  description         = "Agora ${var.service}: periodic jobs"
  schedule_expression = var.schedule.expression
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = contains(keys(var.handlers), "jobs")
      error_message = "schedule needs a jobs handler."
    }
  }
}

resource "aws_cloudwatch_event_target" "jobs" {
  count = var.schedule != null ? 1 : 0

  rule  = aws_cloudwatch_event_rule.jobs[0].name
  arn   = aws_lambda_function.this["jobs"].arn
  input = jsonencode({ jobs = var.schedule.jobs })

  retry_policy {
    maximum_event_age_in_seconds = 300
    maximum_retry_attempts       = 2
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "jobs" {
  count = var.schedule != null ? 1 : 0

  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["jobs"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.jobs[0].arn
}

# ------------------------------------------------------------------- alarms

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = var.alarms ? var.handlers : {}

  alarm_name          = "${var.name}-${each.key}-errors"
  alarm_description   = "Invocations of ${var.name}-${each.key} failed."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.alarm_topic_arn != null
      error_message = "alarms need alarm_topic_arn (or set alarms = false)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each = var.alarms ? var.handlers : {}

  alarm_name          = "${var.name}-${each.key}-throttles"
  alarm_description   = "Invocations of ${var.name}-${each.key} were throttled (reserved concurrency reached)."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "duration" {
  for_each = var.alarms ? var.handlers : {}

  alarm_name          = "${var.name}-${each.key}-duration-p99"
  alarm_description   = "The p99 duration of ${var.name}-${each.key} passed 80% of its timeout."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  threshold           = each.value.timeout_seconds * 1000 * 0.8
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq" {
  count = var.alarms && var.dlq_alarm ? 1 : 0

  alarm_name          = "${var.name}-dlq-depth"
  alarm_description   = "Messages wait in the dead-letter queue of ${var.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
  tags                = var.tags
}
