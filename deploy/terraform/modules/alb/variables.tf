variable "name" {
  description = "Name of the load balancer (e.g. agora-prod); at most 28 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,27}$", var.name)) && !endswith(var.name, "-")
    error_message = "name is 1-28 letters, digits or '-', not ending with '-'."
  }
}

variable "vpc_id" {
  description = "VPC of the load balancer."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id is a VPC ID (vpc-...)."
  }
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC: the load balancer forwards only to targets inside it."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block is an IPv4 CIDR block."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the (internal) load balancer, at least two Availability Zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids lists at least two subnets."
  }
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener (the name API Gateway's VPC link verifies)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn is an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener (TLS 1.2 at least)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = can(regex("^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)", var.ssl_policy))
    error_message = "ssl_policy is a policy that refuses TLS below 1.2."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach the HTTPS listener (the API Gateway VPC link), by a name known at plan time."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for id in values(var.client_security_group_ids) : startswith(id, "sg-")])
    error_message = "client_security_group_ids maps names to security group IDs (sg-...)."
  }
}

variable "target_port" {
  description = "Port the targets (the services' containers) listen on."
  type        = number
  default     = 8080

  validation {
    condition     = var.target_port >= 1 && var.target_port <= 65535
    error_message = "target_port is between 1 and 65535."
  }
}

variable "access_logs_bucket" {
  description = "S3 bucket receiving the access logs (SSE-S3, with the ELB log delivery policy: module s3 with purpose = access-logs)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket))
    error_message = "access_logs_bucket is an S3 bucket name."
  }
}

variable "idle_timeout" {
  description = "Seconds an idle connection stays open."
  type        = number
  default     = 60

  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout <= 4000
    error_message = "idle_timeout is between 1 and 4000 seconds."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer."
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
