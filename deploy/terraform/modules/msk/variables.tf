variable "name" {
  description = "Name of the MSK cluster (e.g. agora-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,63}$", var.name))
    error_message = "name is 1-64 letters, digits or '-', starting with a letter."
  }
}

variable "kafka_version" {
  description = "Apache Kafka version of the brokers (KRaft-based versions such as 3.9.x or 3.7.x.kraft)."
  type        = string
  default     = "3.9.x"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9x]+(\\.[a-z]+)?$", var.kafka_version))
    error_message = "kafka_version is a version MSK offers, such as 3.9.x."
  }
}

variable "instance_type" {
  description = "Broker instance type."
  type        = string
  default     = "kafka.m7g.large"

  validation {
    condition     = startswith(var.instance_type, "kafka.")
    error_message = "instance_type is an MSK broker type such as kafka.m7g.large or kafka.t3.small."
  }
}

variable "broker_count" {
  description = "Number of brokers; a multiple of the number of subnets (one broker set per Availability Zone)."
  type        = number
  default     = 3

  validation {
    condition     = var.broker_count >= 2 && var.broker_count <= 30
    error_message = "broker_count is between 2 and 30."
  }
}

variable "volume_size" {
  description = "Initial EBS volume per broker in GiB; storage autoscaling grows it up to max_volume_size."
  type        = number
  default     = 100

  validation {
    condition     = var.volume_size >= 1 && var.volume_size <= 16384
    error_message = "volume_size is between 1 and 16384 GiB."
  }
}

variable "max_volume_size" {
  description = "Upper bound of storage autoscaling per broker in GiB."
  type        = number
  default     = 1000

  validation {
    condition     = var.max_volume_size >= 1 && var.max_volume_size <= 16384
    error_message = "max_volume_size is between 1 and 16384 GiB."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the brokers, one per Availability Zone."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && length(var.subnet_ids) <= 3
    error_message = "MSK needs 2 or 3 subnets in distinct Availability Zones."
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
  description = "Security groups of the clients allowed to reach the brokers' IAM/TLS listener (port 9098), by a name known at plan time."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.client_security_group_ids) : startswith(id, "sg-")])
    error_message = "client_security_group_ids maps names to security group IDs (sg-...)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the brokers' storage and the broker log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
  }
}

variable "default_partitions" {
  description = "Partitions of an automatically created topic."
  type        = number
  default     = 6

  validation {
    condition     = var.default_partitions >= 1 && var.default_partitions <= 1000
    error_message = "default_partitions is between 1 and 1000."
  }
}

variable "default_retention_ms" {
  description = "Retention of an automatically created topic in milliseconds; -1 keeps records forever (the read models are rebuilt from most of Agora's topics)."
  type        = number
  default     = -1

  validation {
    condition     = var.default_retention_ms == -1 || var.default_retention_ms >= 3600000
    error_message = "default_retention_ms is -1 (forever) or at least one hour."
  }
}

variable "enhanced_monitoring" {
  description = "MSK monitoring level; consumer lag metrics per consumer group come with every level."
  type        = string
  default     = "PER_BROKER"

  validation {
    condition     = contains(["DEFAULT", "PER_BROKER", "PER_TOPIC_PER_BROKER", "PER_TOPIC_PER_PARTITION"], var.enhanced_monitoring)
    error_message = "enhanced_monitoring is DEFAULT, PER_BROKER, PER_TOPIC_PER_BROKER or PER_TOPIC_PER_PARTITION."
  }
}

variable "log_retention_days" {
  description = "Days the broker logs are kept."
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
