variable "name" {
  description = "Name of the registry (e.g. agora-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_$#-]{1,255}$", var.name))
    error_message = "name is 1-255 letters, digits, '_', '-', '$' or '#'."
  }
}

variable "description" {
  description = "What the registry holds."
  type        = string
  default     = "Protobuf schemas of Agora's Kafka topics (one schema per topic, <topic>-value); registered by the deployment pipeline"

  validation {
    condition     = length(var.description) <= 2048
    error_message = "description is at most 2048 characters."
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
