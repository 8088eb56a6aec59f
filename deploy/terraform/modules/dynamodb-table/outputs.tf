output "name" {
  description = "Name of the table."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "ARN of the table."
  value       = aws_dynamodb_table.this.arn
}

output "index_arns" {
  description = "ARN pattern covering the table's indexes (for IAM policies)."
  value       = "${aws_dynamodb_table.this.arn}/index/*"
}

output "stream_arn" {
  description = "ARN of the table's stream, or null without one."
  value       = var.stream_view_type == null ? null : aws_dynamodb_table.this.stream_arn
}
