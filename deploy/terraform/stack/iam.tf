# What each service's code touches, and nothing else: its own table or
# database, its own topics (write) and dead-letter topics, the topics and
# groups api/topics.yaml says it consumes, the schema registry (read), the
# cache secret, its own metrics namespace and, for notification, SES.
locals {
  dlq_topics = { for k in keys(local.services) : k => [for g in local.groups_of[k] : "${g}.dlq"] }
  consumed   = { for k in keys(local.services) : k => distinct([for s in local.subscriptions : s.topic if s.service == k]) }
}

data "aws_iam_policy_document" "service" {
  for_each = local.services

  # Kafka: connect (IAM auth), produce idempotently to the service's own
  # topics and its groups' dead-letter topics (created on first use).
  statement {
    sid       = "KafkaConnect"
    actions   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"]
    resources = [module.msk.cluster_arn]
  }

  dynamic "statement" {
    for_each = length(concat(local.owned_topics[each.key], local.dlq_topics[each.key])) > 0 ? [1] : []

    content {
      sid = "KafkaProduce"
      # Create and configure: services apply their own topics at start
      # (KAFKA_ENSURE_TOPICS: partitions and retention of api/topics.yaml).
      actions = [
        "kafka-cluster:DescribeTopic", "kafka-cluster:WriteData", "kafka-cluster:CreateTopic",
        "kafka-cluster:DescribeTopicDynamicConfiguration", "kafka-cluster:AlterTopicDynamicConfiguration",
      ]
      resources = [
        for t in concat(local.owned_topics[each.key], local.dlq_topics[each.key]) : "${module.msk.topic_arn_prefix}/${t}"
      ]
    }
  }

  # Consumers running in the service's own process (Fargate); on Lambda the
  # event source mappings read with the function role's grants (module
  # lambda-service), and the code only decodes what they hand it.
  dynamic "statement" {
    for_each = each.value.runtime == "fargate" && length(local.consumed[each.key]) > 0 ? [1] : []

    content {
      sid       = "KafkaConsumeTopics"
      actions   = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
      resources = [for t in local.consumed[each.key] : "${module.msk.topic_arn_prefix}/${t}"]
    }
  }

  dynamic "statement" {
    for_each = each.value.runtime == "fargate" && length(local.groups_of[each.key]) > 0 ? [1] : []

    content {
      sid       = "KafkaConsumeGroups"
      actions   = ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"]
      resources = [for g in local.groups_of[each.key] : "${module.msk.group_arn_prefix}/${g}"]
    }
  }

  # Schemas: look up (the pipeline registers them).
  statement {
    sid       = "ReadSchemas"
    actions   = ["glue:GetSchemaVersion", "glue:GetSchemaByDefinition", "glue:GetSchema", "glue:GetRegistry", "glue:ListSchemaVersions"]
    resources = [module.schema_registry.arn, "${module.schema_registry.schema_arn_prefix}/*"]
  }

  dynamic "statement" {
    for_each = each.value.store == "dynamodb" ? [1] : []

    content {
      sid = "OwnTable"
      # What the DynamoDB stores call (internal/<service>/dynamostore and
      # internal/platform/dynamo): reads, queries of the table and its
      # indexes, and the writes a TransactWriteItems is made of (put,
      # update, delete, condition check); batch reads for the cart's
      # prices, batch deletes for the order history's dropped generations.
      actions = concat(
        [
          "dynamodb:ConditionCheckItem",
          "dynamodb:DeleteItem",
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:Query",
          "dynamodb:UpdateItem",
        ],
        each.key == "cart" ? ["dynamodb:BatchGetItem"] : [],
        each.key == "orderhistory" ? ["dynamodb:BatchWriteItem"] : [],
      )
      resources = [module.table[each.key].arn, module.table[each.key].index_arns]
    }
  }

  dynamic "statement" {
    for_each = each.value.store == "postgres" ? [1] : []

    content {
      sid       = "OwnDatabaseIamAuth"
      actions   = ["rds-db:connect"]
      resources = ["arn:${data.aws_partition.current.partition}:rds-db:${local.region}:${local.account}:dbuser:${module.postgres[each.key].resource_id}/agora_${each.key}"]
    }
  }

  dynamic "statement" {
    for_each = each.value.redis ? [1] : []

    content {
      sid       = "CacheSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [module.redis.auth_secret_arn]
    }
  }

  statement {
    sid       = "DecryptWithTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [module.kms.key_arn]
  }

  statement {
    sid       = "OwnMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["agora"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "notification" ? [1] : []

    content {
      sid       = "SendMail"
      actions   = ["ses:SendEmail", "ses:SendRawEmail"]
      resources = [aws_sesv2_email_identity.sender.arn, aws_sesv2_configuration_set.notification.arn]

      condition {
        test     = "StringEquals"
        variable = "ses:FromAddress"
        values   = [var.ses_from_address]
      }
    }
  }
}
