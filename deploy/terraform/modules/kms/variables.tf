variable "name" {
  description = "Alias of the key, without the alias/ prefix (e.g. agora-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.name)) && !startswith(var.name, "aws/")
    error_message = "name may hold letters, digits, '/', '_' and '-' and may not start with aws/."
  }
}

variable "description" {
  description = "What the key protects."
  type        = string
  default     = "Agora data at rest"

  validation {
    condition     = length(var.description) <= 8192
    error_message = "description is at most 8192 characters."
  }
}

variable "deletion_window_in_days" {
  description = "Days a deleted key stays recoverable."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days is between 7 and 30."
  }
}

variable "service_principals" {
  description = "AWS service principals (beyond CloudWatch Logs, which is always allowed) that may decrypt with the key and generate data keys, such as cloudwatch.amazonaws.com for alarms publishing to encrypted SNS topics."
  type        = list(string)
  default     = ["cloudwatch.amazonaws.com"]

  validation {
    condition     = alltrue([for p in var.service_principals : can(regex("^[a-z0-9.-]+\\.amazonaws\\.com$", p))])
    error_message = "service_principals are service principals such as sns.amazonaws.com."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags keys are 1-128 characters, not starting with aws:, and values at most 256 characters."
  }
}
