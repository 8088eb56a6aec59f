variable "name" {
  description = "Name of the repository (e.g. agora)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name)) && length(var.name) >= 2 && length(var.name) <= 256
    error_message = "name is a repository name: lowercase letters, digits and . _ - / separators."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the images."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
  }
}

variable "keep_tagged_images" {
  description = "How many tagged images to keep (the newest); older ones expire."
  type        = number
  default     = 50

  validation {
    condition     = var.keep_tagged_images >= 1 && var.keep_tagged_images <= 1000
    error_message = "keep_tagged_images is between 1 and 1000."
  }
}

variable "untagged_expiry_days" {
  description = "Days after which an untagged image expires."
  type        = number
  default     = 7

  validation {
    condition     = var.untagged_expiry_days >= 1 && var.untagged_expiry_days <= 365
    error_message = "untagged_expiry_days is between 1 and 365."
  }
}

variable "push_role_arns" {
  description = "IAM roles allowed to push images (the deployment pipeline); pulls go through the pulling roles' own policies."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.push_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "push_role_arns are IAM role ARNs."
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
