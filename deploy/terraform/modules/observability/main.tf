data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  region    = data.aws_region.current.name
  ns        = var.metrics_namespace
  lambda    = { for k, s in var.services : k => s if s.runtime == "lambda" }
  fargate   = { for k, s in var.services : k => s if s.runtime == "fargate" }
  publisher = { for k, s in var.services : k => s if s.publishes }
  dlqs      = merge([for k, s in var.services : { for q in s.dlq_queue_names : q => k }]...)
  consumers = { for c in var.consumers : "${c.group}/${c.topic}" => c }
}

# ---------------------------------------------------------------- alarm topic

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alarms" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

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
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# ---------------------------------------------------------------- log groups

# One log group per service, whatever runs it (Lambda functions and Fargate
# tasks write to the same group), and a metric of its error lines.
resource "aws_cloudwatch_log_group" "service" {
  for_each = toset(var.log_group_services)

  name              = "/agora/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = merge(var.tags, { "agora:service" = each.key })
}

resource "aws_cloudwatch_log_metric_filter" "errors" {
  for_each = aws_cloudwatch_log_group.service

  name           = "${var.name}-${each.key}-errors"
  log_group_name = each.value.name
  pattern        = "{ $.level = \"error\" }"

  metric_transformation {
    namespace  = local.ns
    name       = "log_errors"
    value      = "1"
    unit       = "Count"
    dimensions = { service = "$.service" }
  }
}

# ------------------------------------------------------------------- tracing

resource "aws_xray_sampling_rule" "agora" {
  rule_name      = "${var.name}-default"
  priority       = 1000
  version        = 1
  reservoir_size = var.trace_reservoir_per_second
  fixed_rate     = var.trace_sample_rate
  host           = "*"
  http_method    = "*"
  url_path       = "*"
  resource_arn   = "*"
  service_name   = "*"
  service_type   = "*"
  tags           = var.tags
}

resource "aws_xray_group" "errors" {
  group_name        = "${var.name}-faults"
  filter_expression = "fault = true OR error = true"

  insights_configuration {
    insights_enabled      = true
    notifications_enabled = true
  }

  tags = var.tags
}

# -------------------------------------------------------------------- alarms

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = { for k in var.log_group_services : k => k }

  alarm_name          = "${var.name}-${each.key}-errors"
  alarm_description   = "${each.key} logged more than ${var.error_logs_per_5m} errors in five minutes (log group /agora/${var.name}/${each.key})."
  namespace           = local.ns
  metric_name         = "log_errors"
  dimensions          = { service = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.error_logs_per_5m
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "latency_lambda" {
  for_each = local.lambda

  alarm_name          = "${var.name}-${each.key}-latency-p99"
  alarm_description   = "p99 duration of ${each.key}'s HTTP function above ${var.latency_p99_ms} ms for 15 minutes."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = each.value.http_function_name }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.latency_p99_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "latency_fargate" {
  for_each = local.fargate

  alarm_name          = "${var.name}-${each.key}-latency-p99"
  alarm_description   = "p99 response time of ${each.key}'s tasks above ${var.latency_p99_ms} ms for 15 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = { TargetGroup = each.value.target_group_arn_suffix, LoadBalancer = each.value.load_balancer_arn_suffix }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.latency_p99_ms / 1000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "consumer_lag" {
  for_each = var.msk_cluster_name == null ? {} : local.consumers

  alarm_name          = "${var.name}-lag-${replace(each.key, "/", "-")}"
  alarm_description   = "Consumer group ${each.value.group} (${each.value.service}) lags more than ${var.consumer_lag_records} records behind ${each.value.topic} for 15 minutes."
  namespace           = "AWS/Kafka"
  metric_name         = "SumOffsetLag"
  dimensions          = { "Cluster Name" = var.msk_cluster_name, "Consumer Group" = each.value.group, "Topic" = each.value.topic }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.consumer_lag_records
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq" {
  for_each = local.dlqs

  alarm_name          = "${var.name}-${each.value}-dlq-depth"
  alarm_description   = "Messages wait in ${each.value}'s dead-letter queue ${each.key}: inspect and redrive them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.key }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "outbox_age" {
  for_each = local.publisher

  alarm_name          = "${var.name}-${each.key}-outbox-age"
  alarm_description   = "${each.key}'s oldest unrelayed outbox row is older than ${var.outbox_age_seconds} s: events are not reaching Kafka."
  namespace           = local.ns
  metric_name         = "outbox_oldest_age_seconds"
  dimensions          = { service = each.key }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.outbox_age_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# ---------------------------------------------------------------- dashboards

locals {
  dashboards = {
    for k, s in var.services : k => {
      widgets = concat(
        [
          {
            type = "metric", x = 0, y = 0, width = 12, height = 6
            properties = {
              title = "Requests and errors", region = local.region, stat = "Sum", period = 60
              metrics = s.runtime == "lambda" ? concat(
                [for f in s.function_names : ["AWS/Lambda", "Invocations", "FunctionName", f]],
                [for f in s.function_names : ["AWS/Lambda", "Errors", "FunctionName", f]],
                [for f in s.function_names : ["AWS/Lambda", "Throttles", "FunctionName", f]],
                ) : [
                ["AWS/ApplicationELB", "RequestCount", "TargetGroup", s.target_group_arn_suffix, "LoadBalancer", s.load_balancer_arn_suffix],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "TargetGroup", s.target_group_arn_suffix, "LoadBalancer", s.load_balancer_arn_suffix],
                ["AWS/ApplicationELB", "HTTPCode_Target_4XX_Count", "TargetGroup", s.target_group_arn_suffix, "LoadBalancer", s.load_balancer_arn_suffix],
              ]
            }
          },
          {
            type = "metric", x = 12, y = 0, width = 12, height = 6
            properties = {
              title = "Latency p50 / p99", region = local.region, period = 60
              metrics = s.runtime == "lambda" ? [
                ["AWS/Lambda", "Duration", "FunctionName", s.http_function_name, { stat = "p50" }],
                ["AWS/Lambda", "Duration", "FunctionName", s.http_function_name, { stat = "p99" }],
                ] : [
                ["AWS/ApplicationELB", "TargetResponseTime", "TargetGroup", s.target_group_arn_suffix, "LoadBalancer", s.load_balancer_arn_suffix, { stat = "p50" }],
                ["AWS/ApplicationELB", "TargetResponseTime", "TargetGroup", s.target_group_arn_suffix, "LoadBalancer", s.load_balancer_arn_suffix, { stat = "p99" }],
              ]
            }
          },
          {
            type = "metric", x = 0, y = 6, width = 8, height = 6
            properties = {
              title = "Outbox age (s) and error log lines", region = local.region, period = 60
              metrics = [
                [local.ns, "outbox_oldest_age_seconds", "service", k, { stat = "Maximum" }],
                [local.ns, "log_errors", "service", k, { stat = "Sum" }],
              ]
            }
          },
          {
            type = "metric", x = 16, y = 6, width = 8, height = 6
            properties = {
              title = s.runtime == "lambda" ? "Dead-letter queue depth" : "Tasks CPU / memory (%)", region = local.region, stat = "Maximum", period = 300
              metrics = s.runtime == "lambda" ? [
                for q in s.dlq_queue_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]
                ] : [
                ["AWS/ECS", "CPUUtilization", "ClusterName", s.ecs_cluster_name, "ServiceName", s.ecs_service_name],
                ["AWS/ECS", "MemoryUtilization", "ClusterName", s.ecs_cluster_name, "ServiceName", s.ecs_service_name],
              ]
            }
          },
        ],
        var.msk_cluster_name != null && length([for c in var.consumers : c if c.service == k]) > 0 ? [{
          type = "metric", x = 8, y = 6, width = 8, height = 6
          properties = {
            title = "Consumer lag (records)", region = local.region, stat = "Maximum", period = 300
            metrics = [
              for c in var.consumers : ["AWS/Kafka", "SumOffsetLag", "Cluster Name", var.msk_cluster_name, "Consumer Group", c.group, "Topic", c.topic] if c.service == k
            ]
          }
        }] : [],
        contains(var.log_group_services, k) ? [{
          type = "log", x = 0, y = 12, width = 24, height = 6
          properties = {
            title  = "Recent errors"
            region = local.region
            query  = "SOURCE '/agora/${var.name}/${k}' | fields @timestamp, msg, error, correlation_id, trace_id | filter level = 'error' | sort @timestamp desc | limit 50"
            view   = "table"
          }
        }] : [],
      )
    }
  }
}

resource "aws_cloudwatch_dashboard" "service" {
  for_each = local.dashboards

  dashboard_name = "${var.name}-${each.key}"
  dashboard_body = jsonencode(each.value)
}
