data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  region  = data.aws_region.current.name
  tags    = merge(var.tags, { "agora:environment" = var.environment })
}

# ----------------------------------------------------------------- the key

module "kms" {
  source = "../modules/kms"

  name        = local.name
  description = "Agora ${var.environment}: data at rest, logs, queues, secrets"
  # EventBridge writes failed schedule deliveries to encrypted queues.
  service_principals = ["events.amazonaws.com"]
  tags               = local.tags
}

# ------------------------------------------------------------------ network

module "network" {
  source = "../modules/network"

  name                    = local.name
  cidr_block              = var.vpc_cidr
  availability_zones      = var.availability_zones
  single_nat_gateway      = var.single_nat_gateway
  kms_key_arn             = module.kms.key_arn
  flow_log_retention_days = var.log_retention_days
  tags                    = local.tags
}

# ---------------------------------------------------------------- buckets

module "access_logs" {
  source = "../modules/s3"

  name                        = "${local.name}-access-logs-${local.account}"
  purpose                     = "access-logs"
  current_version_expiry_days = 365
  tags                        = local.tags
}

module "artifacts" {
  source = "../modules/s3"

  name                        = "${local.name}-artifacts-${local.account}"
  purpose                     = "data"
  kms_key_arn                 = module.kms.key_arn
  access_log_bucket           = module.access_logs.name
  current_version_expiry_days = 180
  tags                        = local.tags
}

module "ecr" {
  source = "../modules/ecr"

  name           = local.name
  kms_key_arn    = module.kms.key_arn
  push_role_arns = var.pipeline_role_arns
  tags           = local.tags
}

# ------------------------------------------------------------------- events

module "msk" {
  source = "../modules/msk"

  name               = local.name
  instance_type      = var.msk_instance_type
  broker_count       = var.msk_broker_count
  volume_size        = var.msk_volume_size
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
  client_security_group_ids = merge(
    { for k, m in module.lambda : k => m.security_group_id },
    { for k, m in module.fargate : k => m.security_group_id },
  )
  tags = local.tags
}

module "schema_registry" {
  source = "../modules/glue-schema-registry"

  name = local.name
  tags = local.tags
}

# ------------------------------------------------------------------- stores

module "table" {
  source   = "../modules/dynamodb-table"
  for_each = local.dynamodb_services

  name                = "${local.name}-${each.key}"
  kms_key_arn         = module.kms.key_arn
  deletion_protection = var.deletion_protection
  tags                = merge(local.tags, { "agora:service" = each.key })
}

module "postgres" {
  source   = "../modules/rds-postgres"
  for_each = local.postgres_services

  name                  = "${local.name}-${each.key}"
  database_name         = "agora_${each.key}"
  instance_class        = var.rds_instance_class
  multi_az              = var.rds_multi_az
  backup_retention_days = var.rds_backup_retention_days
  deletion_protection   = var.deletion_protection
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  kms_key_arn           = module.kms.key_arn
  log_retention_days    = var.log_retention_days
  client_security_group_ids = {
    (each.key) = module.fargate[each.key].security_group_id
  }
  tags = merge(local.tags, { "agora:service" = each.key })
}

module "redis" {
  source = "../modules/elasticache-redis"

  name               = "${local.name}-cache"
  node_type          = var.redis_node_type
  replica_count      = var.redis_replica_count
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
  client_security_group_ids = merge(
    { for k, m in module.lambda : k => m.security_group_id if contains(local.redis_services, k) },
    { for k, m in module.fargate : k => m.security_group_id if contains(local.redis_services, k) },
  )
  tags = local.tags
}

# ------------------------------------------------------------ identity, mail

module "cognito" {
  source = "../modules/cognito"

  name                = local.name
  domain_prefix       = var.cognito_domain_prefix
  scopes              = local.scopes
  customer_scopes     = local.customer_scopes
  machine_clients     = var.machine_clients
  callback_urls       = var.web_callback_urls
  logout_urls         = var.web_logout_urls
  deletion_protection = var.deletion_protection
  tags                = local.tags
}

resource "aws_sesv2_configuration_set" "notification" {
  configuration_set_name = "${local.name}-notification"

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  sending_options {
    sending_enabled = true
  }

  tags = local.tags
}

resource "aws_sesv2_email_identity" "sender" {
  email_identity         = var.ses_sender_domain
  configuration_set_name = aws_sesv2_configuration_set.notification.configuration_set_name
  tags                   = local.tags
}

# ------------------------------------------------------------ observability

module "observability" {
  source = "../modules/observability"

  name               = local.name
  log_group_services = keys(local.services)
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
  alarm_emails       = var.alarm_emails
  msk_cluster_name   = module.msk.cluster_name
  consumers          = local.lag_watch
  services = merge(
    {
      for k, m in module.lambda : k => {
        runtime            = "lambda"
        function_names     = values(m.function_names)
        http_function_name = m.function_names["http"]
        dlq_queue_names    = [m.dlq_name]
        publishes          = length(local.owned_topics[k]) > 0
      }
    },
    {
      for k, m in module.fargate : k => {
        runtime                  = "fargate"
        ecs_cluster_name         = aws_ecs_cluster.this.name
        ecs_service_name         = m.service_name
        target_group_arn_suffix  = m.target_group_arn_suffix
        load_balancer_arn_suffix = module.alb.arn_suffix
        publishes                = length(local.owned_topics[k]) > 0
      }
    },
  )
  tags = local.tags
}
