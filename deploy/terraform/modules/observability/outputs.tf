output "alarm_topic_arn" {
  description = "ARN of the SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "log_group_names" {
  description = "Log group of each service in log_group_services, by service."
  value       = { for k, g in aws_cloudwatch_log_group.service : k => g.name }
}

output "dashboard_names" {
  description = "CloudWatch dashboard of each service, by service."
  value       = { for k, d in aws_cloudwatch_dashboard.service : k => d.dashboard_name }
}

output "xray_group_arn" {
  description = "ARN of the X-Ray group of faulted and erroneous traces."
  value       = aws_xray_group.errors.arn
}
