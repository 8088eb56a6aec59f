# Production: three Availability Zones everywhere (a NAT gateway, a broker
# and a subnet in each), Multi-AZ databases and cache, deletion protection
# on every stateful resource. These are fixed here, not variables.
locals {
  environment = "prod"
}

module "agora" {
  source = "../../stack"

  environment    = local.environment
  image_tag      = var.image_tag
  lambda_zip_dir = var.lambda_zip_dir

  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = false

  msk_instance_type = "kafka.m7g.large"
  msk_broker_count  = 3
  msk_volume_size   = 500

  rds_instance_class        = "db.m7g.large"
  rds_multi_az              = true
  rds_backup_retention_days = 30

  redis_node_type     = "cache.m7g.large"
  redis_replica_count = 2

  lambda_memory_mb            = 1024
  lambda_reserved_concurrency = var.lambda_reserved_concurrency

  fargate_cpu       = 1024
  fargate_memory    = 2048
  fargate_min_count = 2
  fargate_max_count = var.fargate_max_count

  alb_certificate_arn   = var.alb_certificate_arn
  alb_tls_server_name   = var.alb_tls_server_name
  cognito_domain_prefix = var.cognito_domain_prefix
  web_callback_urls     = var.web_callback_urls
  web_logout_urls       = var.web_logout_urls
  machine_clients       = var.machine_clients
  ses_sender_domain     = var.ses_sender_domain
  ses_from_address      = var.ses_from_address

  api_throttling_burst = 2000
  api_throttling_rate  = 5000
  alarm_emails         = var.alarm_emails
  log_retention_days   = 731
  deletion_protection  = true
  pipeline_role_arns   = var.pipeline_role_arns
}
