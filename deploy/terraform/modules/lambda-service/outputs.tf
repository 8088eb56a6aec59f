output "function_names" {
  description = "Function names by handler kind (http, kafka, streams, jobs)."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "function_arns" {
  description = "Function ARNs by handler kind."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "invoke_arns" {
  description = "Invoke ARNs (for API Gateway integrations) by handler kind."
  value       = { for k, f in aws_lambda_function.this : k => f.invoke_arn }
}

output "role_arn" {
  description = "ARN of the functions' execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the functions' execution role."
  value       = aws_iam_role.this.name
}

output "security_group_id" {
  description = "Security group of the functions (the source the data stores admit)."
  value       = aws_security_group.this.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "log_group_name" {
  description = "Log group the functions write to."
  value       = local.log_group_name
}
