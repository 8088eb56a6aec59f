output "instance_identifier" {
  description = "Identifier of the DB instance (the DBInstanceIdentifier metric dimension)."
  value       = aws_db_instance.this.identifier
}

output "instance_arn" {
  description = "ARN of the DB instance."
  value       = aws_db_instance.this.arn
}

output "resource_id" {
  description = "Resource ID of the instance, used in rds-db:connect ARNs for IAM database authentication."
  value       = aws_db_instance.this.resource_id
}

output "address" {
  description = "Host name of the instance."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the instance."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the database."
  value       = aws_db_instance.this.db_name
}

output "master_username" {
  description = "Master user name."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "ARN of the Secrets Manager secret (JSON with username and password) RDS keeps the master password in."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.this.id
}
