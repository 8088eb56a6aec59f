variable "name" {
  description = "Name of the table (e.g. agora-prod-catalog)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.name))
    error_message = "name is 3-255 letters, digits, '_', '-' or '.'."
  }
}

variable "hash_key" {
  description = "Partition key attribute (string) of the single-table design."
  type        = string
  default     = "pk"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{1,255}$", var.hash_key))
    error_message = "hash_key is an attribute name."
  }
}

variable "range_key" {
  description = "Sort key attribute (string) of the single-table design; null for a table keyed by the partition key alone."
  type        = string
  default     = "sk"

  validation {
    condition     = var.range_key == null || can(regex("^[a-zA-Z0-9_.-]{1,255}$", var.range_key))
    error_message = "range_key is an attribute name or null."
  }
}

variable "global_secondary_indexes" {
  description = "Global secondary indexes: name, string hash and range key attributes, and the projection (ALL, KEYS_ONLY or INCLUDE with non_key_attributes)."
  type = list(object({
    name               = string
    hash_key           = string
    range_key          = optional(string)
    projection_type    = optional(string, "ALL")
    non_key_attributes = optional(list(string), [])
  }))
  default = [{ name = "GSI1", hash_key = "gsi1pk", range_key = "gsi1sk" }]

  validation {
    condition     = alltrue([for g in var.global_secondary_indexes : contains(["ALL", "KEYS_ONLY", "INCLUDE"], g.projection_type)])
    error_message = "projection_type is ALL, KEYS_ONLY or INCLUDE."
  }

  validation {
    condition     = length(var.global_secondary_indexes) <= 20
    error_message = "A table has at most 20 global secondary indexes."
  }
}

variable "ttl_attribute" {
  description = "Attribute holding the expiry (epoch seconds) of items DynamoDB deletes by itself; null disables TTL."
  type        = string
  default     = "expires_at"

  validation {
    condition     = var.ttl_attribute == null || can(regex("^[a-zA-Z0-9_.-]{1,255}$", var.ttl_attribute))
    error_message = "ttl_attribute is an attribute name or null."
  }
}

variable "stream_view_type" {
  description = "DynamoDB Streams view (NEW_IMAGE for the outbox relay), or null for no stream."
  type        = string
  default     = "NEW_IMAGE"

  validation {
    condition     = var.stream_view_type == null || contains(["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"], coalesce(var.stream_view_type, "NEW_IMAGE"))
    error_message = "stream_view_type is NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY or null."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key encrypting the table."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the table (turn off only to tear an environment down)."
  type        = bool
  default     = true
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
