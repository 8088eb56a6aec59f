variable "name" {
  description = "Replication group ID (e.g. agora-prod-cache)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,39}$", var.name)) && !endswith(var.name, "-") && !strcontains(var.name, "--")
    error_message = "name is 1-40 lowercase letters, digits or single '-', starting with a letter."
  }
}

variable "engine_version" {
  description = "Redis OSS engine version."
  type        = string
  default     = "7.1"

  validation {
    condition     = can(regex("^[67]\\.[0-9]+$", var.engine_version))
    error_message = "engine_version is a Redis 6.x or 7.x version such as 7.1."
  }
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.m7g.large"

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "node_type is a cache node type such as cache.m7g.large."
  }
}

variable "replica_count" {
  description = "Read replicas besides the primary; at least one for automatic failover across Availability Zones."
  type        = number
  default     = 1

  validation {
    condition     = var.replica_count >= 1 && var.replica_count <= 5
    error_message = "replica_count is between 1 and 5."
  }
}

variable "snapshot_retention_days" {
  description = "Days daily snapshots are kept."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_days >= 1 && var.snapshot_retention_days <= 35
    error_message = "snapshot_retention_days is between 1 and 35."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the cache subnet group (at least two Availability Zones)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids lists at least two subnets."
  }
}

variable "vpc_id" {
  description = "VPC of the subnets."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id is a VPC ID (vpc-...)."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect on port 6379, by a name known at plan time."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.client_security_group_ids) : startswith(id, "sg-")])
    error_message = "client_security_group_ids maps names to security group IDs (sg-...)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the cache at rest, the auth token secret and the log groups."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Days the slow and engine logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days is one of the values CloudWatch Logs accepts."
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
