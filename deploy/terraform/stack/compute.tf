locals {
  zip_dir = var.lambda_zip_dir != null ? var.lambda_zip_dir : "${path.module}/../../../dist/lambda"
  env     = var.environment == "prod" ? "production" : "development"

  # The settings every service reads (AGORA_<SERVICE>_<NAME>, host.Config
  # in internal/platform/host). The service resolves secretsmanager: and
  # ssm: references itself.
  common_settings = {
    for k in keys(local.services) : k => merge(
      {
        ENV                  = local.env
        LOG_LEVEL            = "info"
        HTTP_ADDR            = ":8080"
        KAFKA_BROKERS        = module.msk.bootstrap_brokers_iam
        KAFKA_SASL_MECHANISM = "AWS_MSK_IAM"
        KAFKA_TLS            = "true"
        SCHEMA_REGISTRY      = "glue"
        GLUE_REGISTRY_NAME   = module.schema_registry.name
        SCHEMA_AUTO_REGISTER = "false"
        KAFKA_ENSURE_TOPICS  = "true"
        # Metrics as CloudWatch embedded metric format on stdout: the
        # log group turns them into metrics (namespace agora).
        METRICS_EXPORTER = "emf"
        AUTH_ISSUER      = module.cognito.issuer
        AUTH_JWKS_URL    = module.cognito.jwks_url
        # Cognito access tokens name their client instead of an audience
        # and carry scopes as <resource server>/<scope>.
        AUTH_CLIENT_IDS   = join(",", module.cognito.client_ids)
        AUTH_SCOPE_PREFIX = module.cognito.scope_prefix
      },
      # Traces: through the collector layer on Lambda (Fargate tasks get a
      # collector beside them from module fargate-service).
      local.services[k].runtime == "lambda" && var.lambda_otel_layer_arn != null ? {
        TRACES_EXPORTER = "otlp"
        OTLP_ENDPOINT   = "http://localhost:4318"
      } : {},
      local.services[k].store == "dynamodb" ? {
        DATABASE_URL = "dynamodb://${module.table[k].name}"
      } : {},
      # Outbox items the table's stream relays expire once the stream has
      # long let go of them (24 h).
      local.services[k].runtime == "lambda" && var.outbox_relay == "streams" && length(local.owned_topics[k]) > 0 ? {
        OUTBOX_EXPIRE_AFTER = "72h"
      } : {},
      local.services[k].redis ? {
        REDIS_ADDR        = "${module.redis.primary_endpoint}:${module.redis.port}"
        REDIS_TLS         = "true"
        REDIS_PASSWORD    = "secretsmanager:${module.redis.auth_secret_arn}#auth_token"
        IDEMPOTENCY_STORE = "redis"
      } : {},
    )
  }

  # What only one service reads.
  service_settings = {
    catalog = {
      PRODUCT_CACHE = "redis"
    }
    inventory = {}
    cart      = {}
    ordering = {
      CART_URL = module.api.api_endpoint
    }
    payment  = {}
    shipping = {}
    notification = {
      EMAIL_SENDER          = "ses"
      SES_FROM              = var.ses_from_address
      SES_CONFIGURATION_SET = aws_sesv2_configuration_set.notification.configuration_set_name
    }
    orderhistory = {}
  }

  environment = {
    for k in keys(local.services) : k => {
      for name, value in merge(local.common_settings[k], local.service_settings[k]) : "AGORA_${upper(k)}_${name}" => value
    }
  }
}

# ------------------------------------------------------------------- Lambda

module "lambda" {
  source   = "../modules/lambda-service"
  for_each = local.lambda_services

  name     = "${local.name}-${each.key}"
  service  = each.key
  zip_path = "${local.zip_dir}/${each.key}.zip"
  layers   = var.lambda_otel_layer_arn == null ? [] : [var.lambda_otel_layer_arn]
  handlers = merge(
    {
      http = { memory_mb = var.lambda_memory_mb, timeout_seconds = 29, reserved_concurrency = var.lambda_reserved_concurrency.http }
    },
    length(local.lambda_event_sources[each.key]) > 0 ? {
      kafka = { memory_mb = var.lambda_memory_mb, timeout_seconds = 300, reserved_concurrency = var.lambda_reserved_concurrency.kafka }
    } : {},
    var.outbox_relay == "streams" && length(local.owned_topics[each.key]) > 0 ? {
      streams = { memory_mb = var.lambda_memory_mb, timeout_seconds = 120, reserved_concurrency = var.lambda_reserved_concurrency.streams }
    } : {},
    length(each.value.jobs) > 0 ? {
      jobs = { memory_mb = var.lambda_memory_mb, timeout_seconds = 55, reserved_concurrency = 1 }
    } : {},
  )
  schedule     = length(each.value.jobs) > 0 ? { expression = var.jobs_schedule, jobs = each.value.jobs } : null
  outbox_relay = var.outbox_relay == "streams" && length(local.owned_topics[each.key]) > 0 ? "streams" : "inline"
  environment  = local.environment[each.key]
  policy_json  = data.aws_iam_policy_document.service[each.key].json

  vpc_id     = module.network.vpc_id
  subnet_ids = module.network.private_subnet_ids
  egress = merge(
    { kafka = { security_group_id = module.msk.security_group_id, port = 9098 } },
    each.value.redis ? { redis = { security_group_id = module.redis.security_group_id, port = 6379 } } : {},
  )

  msk = {
    cluster_arn      = module.msk.cluster_arn
    topic_arn_prefix = module.msk.topic_arn_prefix
    group_arn_prefix = module.msk.group_arn_prefix
  }
  kafka_event_sources = local.lambda_event_sources[each.key]
  dynamodb_stream     = var.outbox_relay == "streams" && length(local.owned_topics[each.key]) > 0 ? { stream_arn = module.table[each.key].stream_arn } : null

  kms_key_arn     = module.kms.key_arn
  log_group_name  = module.observability.log_group_names[each.key]
  alarm_topic_arn = module.observability.alarm_topic_arn
  dlq_alarm       = false # module.observability alarms on every dead-letter queue
  tags            = merge(local.tags, { "agora:service" = each.key })
}

# ------------------------------------------------------------------ Fargate

resource "aws_cloudwatch_log_group" "ecs_exec" {
  name              = "/agora/${local.name}/ecs-exec"
  retention_in_days = var.log_retention_days
  kms_key_id        = module.kms.key_arn
  tags              = local.tags
}

resource "aws_ecs_cluster" "this" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  # ECS Exec is off on every service; should an operator turn it on, the
  # sessions are logged, encrypted.
  configuration {
    execute_command_configuration {
      kms_key_id = module.kms.key_arn
      logging    = "OVERRIDE"

      log_configuration {
        cloud_watch_encryption_enabled = true
        cloud_watch_log_group_name     = aws_cloudwatch_log_group.ecs_exec.name
      }
    }
  }

  tags = local.tags
}

module "alb" {
  source = "../modules/alb"

  name                = local.name
  vpc_id              = module.network.vpc_id
  vpc_cidr_block      = module.network.vpc_cidr_block
  subnet_ids          = module.network.private_subnet_ids
  certificate_arn     = var.alb_certificate_arn
  access_logs_bucket  = module.access_logs.name
  deletion_protection = var.deletion_protection
  client_security_group_ids = {
    api = module.api.vpc_link_security_group_id
  }
  tags = local.tags
}

module "fargate" {
  source   = "../modules/fargate-service"
  for_each = local.fargate_services

  name               = "${local.name}-${each.key}"
  service            = each.key
  cluster_arn        = aws_ecs_cluster.this.arn
  cluster_name       = aws_ecs_cluster.this.name
  image              = "${module.ecr.repository_url}:${var.image_tag}"
  ecr_repository_arn = module.ecr.repository_arn
  cpu                = var.fargate_cpu
  memory             = var.fargate_memory
  desired_count      = var.fargate_min_count
  min_count          = var.fargate_min_count
  max_count          = var.fargate_max_count

  environment = merge(local.environment[each.key], {
    "AGORA_${upper(each.key)}_DATABASE_URL" = "postgres://${module.postgres[each.key].master_username}@${module.postgres[each.key].address}:${module.postgres[each.key].port}/${module.postgres[each.key].database_name}?sslmode=require"
  })
  # The password of the database URL (pgx reads PGPASSWORD), injected by
  # ECS from the secret RDS manages.
  secrets = {
    PGPASSWORD = "${module.postgres[each.key].master_user_secret_arn}:password::"
  }
  policy_json = data.aws_iam_policy_document.service[each.key].json

  vpc_id     = module.network.vpc_id
  subnet_ids = module.network.private_subnet_ids
  egress = merge(
    {
      kafka    = { security_group_id = module.msk.security_group_id, port = 9098 }
      postgres = { security_group_id = module.postgres[each.key].security_group_id, port = 5432 }
    },
    each.value.redis ? { redis = { security_group_id = module.redis.security_group_id, port = 6379 } } : {},
  )
  load_balancer = {
    listener_arn      = module.alb.listener_arn
    security_group_id = module.alb.security_group_id
    priority          = local.fargate_priority[each.key]
    path_patterns     = local.fargate_paths[each.key]
  }

  kms_key_arn    = module.kms.key_arn
  log_group_name = module.observability.log_group_names[each.key]
  tags           = merge(local.tags, { "agora:service" = each.key })
}

# ---------------------------------------------------------------------- API

module "api" {
  source = "../modules/api-gateway"

  name          = local.name
  jwt_issuer    = module.cognito.issuer
  jwt_audiences = module.cognito.client_ids

  lambda_integrations = {
    for k, m in module.lambda : k => {
      function_name = m.function_names["http"]
      invoke_arn    = m.invoke_arns["http"]
    }
  }
  alb_integrations = { for k in keys(local.fargate_services) : k => {} }
  vpc_link = {
    vpc_id                = module.network.vpc_id
    subnet_ids            = module.network.private_subnet_ids
    listener_arn          = module.alb.listener_arn
    alb_security_group_id = module.alb.security_group_id
    tls_server_name       = var.alb_tls_server_name
  }
  routes = local.api_routes

  throttling_burst_limit = var.api_throttling_burst
  throttling_rate_limit  = var.api_throttling_rate
  kms_key_arn            = module.kms.key_arn
  log_retention_days     = var.log_retention_days
  tags                   = local.tags
}
