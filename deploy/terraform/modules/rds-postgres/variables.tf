variable "name" {
  description = "Identifier of the DB instance (e.g. agora-prod-ordering)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.name)) && !endswith(var.name, "-") && !strcontains(var.name, "--")
    error_message = "name is 1-63 lowercase letters, digits or single '-', starting with a letter."
  }
}

variable "database_name" {
  description = "Name of the database created in the instance."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name is 1-63 lowercase letters, digits or '_', starting with a letter."
  }
}

variable "master_username" {
  description = "Master user; its password is generated and rotated by RDS in Secrets Manager."
  type        = string
  default     = "agora_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.master_username)) && !contains(["admin", "postgres", "rdsadmin"], var.master_username)
    error_message = "master_username is 1-16 lowercase letters, digits or '_', not a reserved name."
  }
}

variable "engine_version" {
  description = "PostgreSQL version (major 16)."
  type        = string
  default     = "16.8"

  validation {
    condition     = can(regex("^16(\\.[0-9]+)?$", var.engine_version))
    error_message = "engine_version is a PostgreSQL 16 version (16 or 16.x)."
  }
}

variable "instance_class" {
  description = "DB instance class."
  type        = string
  default     = "db.m7g.large"

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class is a DB instance class such as db.m7g.large."
  }
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 50

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 65536
    error_message = "allocated_storage is between 20 and 65536 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Upper bound of storage autoscaling in GiB."
  type        = number
  default     = 500

  validation {
    condition     = var.max_allocated_storage >= 20 && var.max_allocated_storage <= 65536
    error_message = "max_allocated_storage is between 20 and 65536 GiB."
  }
}

variable "multi_az" {
  description = "Run a synchronous standby in another Availability Zone."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days automated backups (and point-in-time recovery) are kept."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days is between 7 and 35."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (turn off only to tear an environment down)."
  type        = bool
  default     = true
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group (at least two Availability Zones)."
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
  description = "Security groups allowed to connect on port 5432, by a name known at plan time."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.client_security_group_ids) : startswith(id, "sg-")])
    error_message = "client_security_group_ids maps names to security group IDs (sg-...)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting storage, Performance Insights, the master secret and the log exports."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Days the exported PostgreSQL logs are kept."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days is one of the values CloudWatch Logs accepts."
  }
}

variable "slow_query_ms" {
  description = "Statements slower than this many milliseconds are logged."
  type        = number
  default     = 500

  validation {
    condition     = var.slow_query_ms >= 0
    error_message = "slow_query_ms is zero or more."
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
