output "state_bucket" {
  description = "S3 bucket of the environments' state (backend.hcl: bucket)."
  value       = module.state.name
}

output "lock_table" {
  description = "DynamoDB table of the state locks (backend.hcl: dynamodb_table)."
  value       = module.locks.name
}

output "state_kms_key_arn" {
  description = "KMS key encrypting state objects (backend.hcl: kms_key_id)."
  value       = module.kms.key_arn
}

output "backend_config" {
  description = "backend.hcl of each environment."
  value = {
    for e in var.environments : e => join("\n", [
      "bucket         = \"${module.state.name}\"",
      "key            = \"agora/${e}/terraform.tfstate\"",
      "region         = \"${var.aws_region}\"",
      "dynamodb_table = \"${module.locks.name}\"",
      "encrypt        = true",
      "kms_key_id     = \"${module.kms.key_arn}\"",
    ])
  }
}

output "plan_role_arns" {
  description = "Role the pipeline assumes to plan each environment (GitHub secret AWS_PLAN_ROLE_ARN_<ENV>)."
  value       = { for e, r in aws_iam_role.plan : e => r.arn }
}

output "deploy_role_arns" {
  description = "Role the pipeline assumes to apply each environment (GitHub secret AWS_DEPLOY_ROLE_ARN_<ENV>)."
  value       = { for e, r in aws_iam_role.deploy : e => r.arn }
}
