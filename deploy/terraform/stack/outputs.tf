output "api_url" {
  description = "Base URL of the API; every route is under /v1/."
  value       = module.api.api_endpoint
}

output "cognito_issuer" {
  description = "Issuer of the access tokens (the services' AUTH_ISSUER)."
  value       = module.cognito.issuer
}

output "cognito_jwks_url" {
  description = "Signing keys of the access tokens (the services' AUTH_JWKS_URL)."
  value       = module.cognito.jwks_url
}

output "cognito_oauth_base_url" {
  description = "Base URL of the OAuth 2.0 endpoints (/oauth2/authorize, /oauth2/token)."
  value       = module.cognito.oauth_base_url
}

output "cognito_web_client_id" {
  description = "Client ID of the shop's browser client (authorization code with PKCE)."
  value       = module.cognito.web_client_id
}

output "cognito_machine_client_ids" {
  description = "Client IDs of the client-credentials clients by name."
  value       = module.cognito.machine_client_ids
}

output "scope_prefix" {
  description = "Prefix of every scope in the access tokens (agora/)."
  value       = module.cognito.scope_prefix
}

output "kafka_bootstrap_brokers" {
  description = "MSK brokers' IAM/TLS listener (host:port,...)."
  value       = module.msk.bootstrap_brokers_iam
}

output "msk_cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = module.msk.cluster_arn
}

output "schema_registry_name" {
  description = "Glue Schema Registry the pipeline registers the topics' schemas in."
  value       = module.schema_registry.name
}

output "schema_registry_register_policy_json" {
  description = "IAM policy (JSON) the pipeline's role needs to register schemas."
  value       = module.schema_registry.register_policy_json
}

output "ecr_repository_url" {
  description = "ECR repository of the agora image (push <url>:<git sha>)."
  value       = module.ecr.repository_url
}

output "artifacts_bucket" {
  description = "Bucket for build artifacts (Lambda zips, schemas) of the environment."
  value       = module.artifacts.name
}

output "table_names" {
  description = "DynamoDB table of each DynamoDB service."
  value       = { for k, t in module.table : k => t.name }
}

output "database_endpoints" {
  description = "PostgreSQL host:port of ordering and payment."
  value       = { for k, p in module.postgres : k => "${p.address}:${p.port}" }
}

output "database_secret_arns" {
  description = "Secrets Manager secret (username, password) of each database's master user."
  value       = { for k, p in module.postgres : k => p.master_user_secret_arn }
}

output "redis_secret_arn" {
  description = "Secrets Manager secret of the cache (auth_token, host, port, url)."
  value       = module.redis.auth_secret_arn
}

output "lambda_functions" {
  description = "Lambda function names of each Lambda service by handler kind."
  value       = { for k, m in module.lambda : k => m.function_names }
}

output "lambda_dead_letter_queues" {
  description = "SQS dead-letter queue of each Lambda service."
  value       = { for k, m in module.lambda : k => m.dlq_name }
}

output "ecs_cluster_name" {
  description = "ECS cluster running ordering and payment."
  value       = aws_ecs_cluster.this.name
}

output "ecs_services" {
  description = "ECS service of each Fargate service."
  value       = { for k, m in module.fargate : k => m.service_name }
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = module.observability.alarm_topic_arn
}

output "dashboards" {
  description = "CloudWatch dashboard of each service."
  value       = module.observability.dashboard_names
}

output "log_groups" {
  description = "Log group of each service."
  value       = module.observability.log_group_names
}

output "ses_dkim_tokens" {
  description = "DKIM tokens of the sender domain: publish <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com."
  value       = aws_sesv2_email_identity.sender.dkim_signing_attributes[0].tokens
}

output "consumer_groups" {
  description = "Consumer group IDs as the cluster knows them, with service and topic (Lambda: <group>@<topic>)."
  value       = local.lag_watch
}
