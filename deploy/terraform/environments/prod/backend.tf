# State in S3 with DynamoDB locking. The bucket, key, table and key ARN are
# given at init time (partial configuration), from backend.hcl:
#
#   terraform init -backend-config=backend.hcl
#
# (copy backend.hcl.example; deploy/terraform/bootstrap creates the bucket
# and the table and prints the values).
terraform {
  backend "s3" {}
}
