output "replication_group_id" {
  description = "ID of the replication group (the ReplicationGroupId metric dimension)."
  value       = aws_elasticache_replication_group.this.id
}

output "primary_endpoint" {
  description = "Host name of the primary (writes)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "reader_endpoint" {
  description = "Host name spreading reads across the replicas."
  value       = aws_elasticache_replication_group.this.reader_endpoint_address
}

output "port" {
  description = "Port of the replication group."
  value       = aws_elasticache_replication_group.this.port
}

output "auth_secret_arn" {
  description = "ARN of the Secrets Manager secret holding auth_token, host, port and url (rediss://)."
  value       = aws_secretsmanager_secret.auth.arn
}

output "security_group_id" {
  description = "Security group of the replication group."
  value       = aws_security_group.this.id
}
