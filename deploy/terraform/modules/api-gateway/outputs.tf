output "api_id" {
  description = "ID of the HTTP API (the ApiId metric dimension)."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "Base URL of the API (https://<id>.execute-api.<region>.amazonaws.com); the routes live under /v1/."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "execution_arn" {
  description = "Execution ARN of the API (for Lambda permissions)."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "stage_name" {
  description = "Name of the stage."
  value       = aws_apigatewayv2_stage.default.name
}

output "vpc_link_security_group_id" {
  description = "Security group of the VPC link (the source the internal load balancer admits), or null without one."
  value       = var.vpc_link == null ? null : aws_security_group.vpc_link[0].id
}

output "access_log_group_name" {
  description = "Log group of the access logs."
  value       = aws_cloudwatch_log_group.access.name
}
