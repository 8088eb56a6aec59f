output "name" {
  description = "Name of the registry."
  value       = aws_glue_registry.this.registry_name
}

output "arn" {
  description = "ARN of the registry."
  value       = aws_glue_registry.this.arn
}

output "schema_arn_prefix" {
  description = "Prefix of the ARNs of the registry's schemas; append /<schema> or /* (for IAM policies)."
  value       = local.schema_arn_prefix
}

output "read_policy_json" {
  description = "IAM policy document (JSON) letting a service look up the registry's schemas and versions."
  value       = data.aws_iam_policy_document.read.json
}

output "register_policy_json" {
  description = "IAM policy document (JSON) letting the pipeline create schemas and register versions."
  value       = data.aws_iam_policy_document.register.json
}
