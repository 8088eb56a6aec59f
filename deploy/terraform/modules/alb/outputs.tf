output "arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (the LoadBalancer metric dimension)."
  value       = aws_lb.this.arn_suffix
}

output "dns_name" {
  description = "DNS name of the load balancer."
  value       = aws_lb.this.dns_name
}

output "listener_arn" {
  description = "ARN of the HTTPS listener the services add their rules to and API Gateway integrates with."
  value       = aws_lb_listener.https.arn
}

output "security_group_id" {
  description = "Security group of the load balancer (the source the services' tasks admit)."
  value       = aws_security_group.this.id
}
