variable "name" {
  description = "Name of the bucket (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !strcontains(var.name, "..")
    error_message = "name is a valid S3 bucket name: 3-63 lowercase letters, digits, '.' or '-'."
  }
}

variable "purpose" {
  description = "data: objects encrypted with the KMS key, access logged to access_log_bucket (artifacts, state). access-logs: the target of S3 server access logs and load balancer logs, encrypted with S3-managed keys (the only encryption those log deliveries support)."
  type        = string
  default     = "data"

  validation {
    condition     = contains(["data", "access-logs"], var.purpose)
    error_message = "purpose is data or access-logs."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the objects (purpose = data)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN or null."
  }
}

variable "access_log_bucket" {
  description = "Bucket receiving this bucket's server access logs (purpose = data)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket is a bucket name or null."
  }
}

variable "noncurrent_version_expiry_days" {
  description = "Days a replaced or deleted object version is kept."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiry_days >= 1
    error_message = "noncurrent_version_expiry_days is at least 1."
  }
}

variable "current_version_expiry_days" {
  description = "Days after which current objects expire (logs, build artifacts); null keeps them."
  type        = number
  default     = null

  validation {
    condition     = var.current_version_expiry_days == null || coalesce(var.current_version_expiry_days, 1) >= 1
    error_message = "current_version_expiry_days is at least 1, or null."
  }
}

variable "force_destroy" {
  description = "Let Terraform delete a bucket that still holds objects (never for state or artifacts in production)."
  type        = bool
  default     = false
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
