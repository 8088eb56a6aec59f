variable "aws_region" {
  description = "Region of the state bucket and lock table (the environments' region)."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region is an AWS region such as eu-west-1."
  }
}

variable "aws_account_id" {
  description = "The account being bootstrapped (run once per account: development, production)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id is a 12-digit account ID."
  }
}

variable "environments" {
  description = "Environments whose state lives in this account; each gets a plan role and a deploy role for the pipeline."
  type        = list(string)

  validation {
    condition     = length(var.environments) >= 1 && alltrue([for e in var.environments : contains(["dev", "prod"], e)])
    error_message = "environments lists dev and/or prod."
  }
}

variable "github_repository" {
  description = "GitHub repository (<owner>/<name>) whose workflows may assume the pipeline roles through OIDC."
  type        = string
  default     = "agoracommerce/agora"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository is <owner>/<name>."
  }
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider (false when the account already has one)."
  type        = bool
  default     = true
}

variable "state_version_retention_days" {
  description = "Days old versions of state files are kept."
  type        = number
  default     = 365

  validation {
    condition     = var.state_version_retention_days >= 30
    error_message = "state_version_retention_days is at least 30."
  }
}
