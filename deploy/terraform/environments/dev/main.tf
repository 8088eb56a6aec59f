# Development: the whole of Agora at the smallest sizes that still run it
# the way production does (two Availability Zones, one NAT gateway, a
# single-AZ database, small brokers and nodes, low concurrency).
locals {
  environment = "dev"
}

module "agora" {
  source = "../../stack"

  environment    = local.environment
  image_tag      = var.image_tag
  lambda_zip_dir = var.lambda_zip_dir

  vpc_cidr           = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = true

  msk_instance_type = "kafka.t3.small"
  msk_broker_count  = 2
  msk_volume_size   = 20

  rds_instance_class        = "db.t4g.medium"
  rds_multi_az              = false
  rds_backup_retention_days = 7

  redis_node_type     = "cache.t4g.small"
  redis_replica_count = 1

  lambda_memory_mb            = 512
  lambda_reserved_concurrency = { http = 5, kafka = 2, streams = 1 }

  fargate_cpu       = 512
  fargate_memory    = 1024
  fargate_min_count = 1
  fargate_max_count = 2

  alb_certificate_arn   = var.alb_certificate_arn
  alb_tls_server_name   = var.alb_tls_server_name
  cognito_domain_prefix = var.cognito_domain_prefix
  web_callback_urls     = var.web_callback_urls
  machine_clients       = var.machine_clients
  ses_sender_domain     = var.ses_sender_domain
  ses_from_address      = var.ses_from_address

  api_throttling_burst = 50
  api_throttling_rate  = 100
  alarm_emails         = var.alarm_emails
  log_retention_days   = 365
  deletion_protection  = var.deletion_protection
  pipeline_role_arns   = var.pipeline_role_arns
}
