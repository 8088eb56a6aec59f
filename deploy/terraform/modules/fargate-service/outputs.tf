output "service_name" {
  description = "Name of the ECS service (the ServiceName metric dimension)."
  value       = aws_ecs_service.this.name
}

output "task_definition_arn" {
  description = "ARN of the task definition revision the service runs."
  value       = aws_ecs_task_definition.this.arn
}

output "task_role_arn" {
  description = "ARN of the task role (the service's code)."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Name of the task role."
  value       = aws_iam_role.task.name
}

output "execution_role_arn" {
  description = "ARN of the execution role (ECS starting the task)."
  value       = aws_iam_role.execution.arn
}

output "security_group_id" {
  description = "Security group of the tasks (the source the data stores admit)."
  value       = aws_security_group.this.id
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (the TargetGroup metric dimension)."
  value       = aws_lb_target_group.this.arn_suffix
}

output "log_group_name" {
  description = "Log group of the containers."
  value       = local.log_group_name
}
