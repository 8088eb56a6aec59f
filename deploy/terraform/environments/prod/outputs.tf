output "api_url" {
  description = "Base URL of the API; every route is under /v1/ (e.g. <api_url>/v1/products)."
  value       = module.agora.api_url
}

output "cognito_issuer" {
  description = "Issuer of the access tokens (the services' AUTH_ISSUER and the API's JWT authorizer)."
  value       = module.agora.cognito_issuer
}

output "cognito_jwks_url" {
  description = "Signing keys of the access tokens (the services' AUTH_JWKS_URL)."
  value       = module.agora.cognito_jwks_url
}

output "cognito_oauth_base_url" {
  description = "Base URL of the OAuth 2.0 endpoints: <url>/oauth2/authorize and <url>/oauth2/token."
  value       = module.agora.cognito_oauth_base_url
}

output "cognito_web_client_id" {
  description = "Client ID of the shop's browser client (authorization code with PKCE)."
  value       = module.agora.cognito_web_client_id
}

output "cognito_machine_client_ids" {
  description = "Client IDs of the client-credentials clients by name."
  value       = module.agora.cognito_machine_client_ids
}

output "scope_prefix" {
  description = "Prefix of every scope in access tokens (agora/)."
  value       = module.agora.scope_prefix
}

output "kafka_bootstrap_brokers" {
  description = "MSK brokers' IAM/TLS listener."
  value       = module.agora.kafka_bootstrap_brokers
}

output "schema_registry_name" {
  description = "Glue Schema Registry the pipeline registers the schemas in."
  value       = module.agora.schema_registry_name
}

output "ecr_repository_url" {
  description = "ECR repository of the agora image."
  value       = module.agora.ecr_repository_url
}

output "artifacts_bucket" {
  description = "Bucket for the environment's build artifacts."
  value       = module.agora.artifacts_bucket
}

output "table_names" {
  description = "DynamoDB table of each DynamoDB service."
  value       = module.agora.table_names
}

output "database_endpoints" {
  description = "PostgreSQL host:port of ordering and payment."
  value       = module.agora.database_endpoints
}

output "lambda_functions" {
  description = "Lambda functions of each Lambda service by handler kind."
  value       = module.agora.lambda_functions
}

output "ecs_services" {
  description = "ECS services of ordering and payment (cluster in ecs_cluster_name)."
  value       = module.agora.ecs_services
}

output "ecs_cluster_name" {
  description = "ECS cluster of the Fargate services."
  value       = module.agora.ecs_cluster_name
}

output "dashboards" {
  description = "CloudWatch dashboard of each service."
  value       = module.agora.dashboards
}

output "alarm_topic_arn" {
  description = "SNS topic of every alarm (subscribe on-call here)."
  value       = module.agora.alarm_topic_arn
}

output "ses_dkim_tokens" {
  description = "DKIM tokens to publish for the sender domain."
  value       = module.agora.ses_dkim_tokens
}

output "consumer_groups" {
  description = "Consumer group IDs as the cluster knows them, with service and topic."
  value       = module.agora.consumer_groups
}
