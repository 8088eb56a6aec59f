output "user_pool_id" {
  description = "ID of the user pool."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the user pool."
  value       = aws_cognito_user_pool.this.arn
}

output "issuer" {
  description = "Issuer URL of the pool's tokens (AGORA_<SERVICE>_AUTH_ISSUER, the JWT authorizer's issuer)."
  value       = "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${aws_cognito_user_pool.this.id}"
}

output "jwks_url" {
  description = "URL of the pool's signing keys (AGORA_<SERVICE>_AUTH_JWKS_URL)."
  value       = "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${aws_cognito_user_pool.this.id}/.well-known/jwks.json"
}

output "oauth_base_url" {
  description = "Base URL of the OAuth 2.0 endpoints (/oauth2/authorize, /oauth2/token)."
  value       = "https://${aws_cognito_user_pool_domain.this.domain}.auth.${data.aws_region.current.name}.amazoncognito.com"
}

output "web_client_id" {
  description = "Client ID of the browser client (authorization code with PKCE)."
  value       = aws_cognito_user_pool_client.web.id
}

output "machine_client_ids" {
  description = "Client IDs of the client-credentials clients by name (their secrets stay in Cognito: read them with aws cognito-idp describe-user-pool-client)."
  value       = { for k, c in aws_cognito_user_pool_client.machine : k => c.id }
}

output "client_ids" {
  description = "Every client ID of the pool (the JWT authorizer's audiences)."
  value       = concat([aws_cognito_user_pool_client.web.id], [for c in aws_cognito_user_pool_client.machine : c.id])
}

output "scope_prefix" {
  description = "What a scope carries in tokens before its name: <resource server identifier>/."
  value       = "${var.resource_server_identifier}/"
}
