data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

# Only the registry lives here: schemas are registered by the deployment
# pipeline (`agora schemas register`) from api/proto, so the registry holds
# every version that ever shipped and Glue checks each new one for
# compatibility.
resource "aws_glue_registry" "this" {
  registry_name = var.name
  description   = var.description
  tags          = var.tags
}

locals {
  schema_arn_prefix = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:schema/${aws_glue_registry.this.registry_name}"
}

data "aws_iam_policy_document" "read" {
  statement {
    sid       = "ReadSchemas"
    actions   = ["glue:GetSchemaVersion", "glue:GetSchemaByDefinition", "glue:GetSchema", "glue:GetRegistry", "glue:ListSchemaVersions"]
    resources = [aws_glue_registry.this.arn, "${local.schema_arn_prefix}/*"]
  }
}

data "aws_iam_policy_document" "register" {
  source_policy_documents = [data.aws_iam_policy_document.read.json]

  statement {
    sid       = "RegisterSchemas"
    actions   = ["glue:CreateSchema", "glue:RegisterSchemaVersion", "glue:PutSchemaVersionMetadata", "glue:UpdateSchema"]
    resources = [aws_glue_registry.this.arn, "${local.schema_arn_prefix}/*"]
  }
}
