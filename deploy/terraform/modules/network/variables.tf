variable "name" {
  description = "Name prefix of every resource (e.g. agora-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name is 2-41 lowercase letters, digits or '-', starting with a letter."
  }
}

variable "cidr_block" {
  description = "IPv4 CIDR block of the VPC; a /16 to /20 leaves room for the subnets."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 20
    error_message = "cidr_block is an IPv4 CIDR from /16 to /20."
  }
}

variable "availability_zones" {
  description = "Availability Zones (names, e.g. eu-west-1a) the subnets are spread across, one private and one public subnet each, in this order. Naming them keeps the network from moving when AWS adds a zone."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 4 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones lists 2 to 4 distinct zones (MSK and Multi-AZ RDS need at least 2)."
  }

  validation {
    condition     = alltrue([for z in var.availability_zones : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$", z))])
    error_message = "availability_zones are zone names such as eu-west-1a."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all private subnets (cheaper, one AZ's outage cuts egress) instead of one per Availability Zone."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints from the private subnets (the gateway endpoints for DynamoDB and S3 are always created)."
  type        = list(string)
  default     = ["secretsmanager", "ecr.api", "ecr.dkr", "logs", "sts"]

  validation {
    condition     = alltrue([for s in var.interface_endpoints : can(regex("^[a-z0-9.-]+$", s))])
    error_message = "interface_endpoints are service names such as secretsmanager or ecr.api."
  }
}

variable "flow_log_retention_days" {
  description = "Days the VPC flow logs are kept in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days is one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ..., 365, ..., 3653)."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
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
