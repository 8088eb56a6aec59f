output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the MSK cluster (the 'Cluster Name' dimension of its CloudWatch metrics)."
  value       = aws_msk_cluster.this.cluster_name
}

output "bootstrap_brokers_iam" {
  description = "Comma-separated host:port list of the brokers' IAM/TLS listener (port 9098)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
}

output "security_group_id" {
  description = "Security group of the brokers."
  value       = aws_security_group.this.id
}

output "topic_arn_prefix" {
  description = "Prefix of the IAM ARNs of the cluster's topics; append /<topic> (or /<pattern>*)."
  value       = "${local.arn_base}:topic/${local.path}"
}

output "group_arn_prefix" {
  description = "Prefix of the IAM ARNs of the cluster's consumer groups; append /<group>."
  value       = "${local.arn_base}:group/${local.path}"
}

output "transactional_id_arn_prefix" {
  description = "Prefix of the IAM ARNs of the cluster's transactional IDs; append /<id>."
  value       = "${local.arn_base}:transactional-id/${local.path}"
}

output "broker_log_group_name" {
  description = "CloudWatch log group of the broker logs."
  value       = aws_cloudwatch_log_group.broker.name
}
