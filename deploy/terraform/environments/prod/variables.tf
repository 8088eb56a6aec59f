variable "aws_region" {
  description = "Region of the environment."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region is an AWS region such as eu-west-1."
  }
}

variable "aws_account_id" {
  description = "The only AWS account this configuration may touch (the production account)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id is a 12-digit account ID."
  }
}

variable "repository" {
  description = "Source repository recorded in the default tags."
  type        = string
  default     = "agoracommerce/agora"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository))
    error_message = "repository is <owner>/<name>."
  }
}

variable "image_tag" {
  description = "Tag of the agora image the Fargate services run (the commit SHA the pipeline pushed)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag is a Docker tag other than latest."
  }
}

variable "lambda_zip_dir" {
  description = "Directory of the Lambda zips (<service>.zip); null uses the repository's dist/lambda."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip_dir == null || try(length(var.lambda_zip_dir) > 0, false)
    error_message = "lambda_zip_dir is a directory path or null."
  }
}

variable "availability_zones" {
  description = "Availability Zones (names, in the region) of the environment: 3 of them."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]

  validation {
    condition     = length(var.availability_zones) == 3 && alltrue([for z in var.availability_zones : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$", z))])
    error_message = "availability_zones lists 3 zone names such as eu-west-1a."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.50.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr is an IPv4 CIDR block."
  }
}

variable "alb_certificate_arn" {
  description = "ACM certificate of the internal load balancer in front of ordering and payment."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.alb_certificate_arn))
    error_message = "alb_certificate_arn is an ACM certificate ARN."
  }
}

variable "alb_tls_server_name" {
  description = "Host name on that certificate (API Gateway verifies it over the VPC link)."
  type        = string

  validation {
    condition     = length(var.alb_tls_server_name) > 3
    error_message = "alb_tls_server_name is a host name."
  }
}

variable "cognito_domain_prefix" {
  description = "Prefix of the Cognito-hosted OAuth domain."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.cognito_domain_prefix))
    error_message = "cognito_domain_prefix is 1-63 lowercase letters, digits or '-'."
  }
}

variable "web_callback_urls" {
  description = "Sign-in redirect URLs of the shop's browser client (https only in production)."
  type        = list(string)

  validation {
    condition     = length(var.web_callback_urls) >= 1 && alltrue([for u in var.web_callback_urls : startswith(u, "https://")])
    error_message = "web_callback_urls lists at least one https URL."
  }
}

variable "machine_clients" {
  description = "Client-credentials clients by name with their scopes."
  type        = map(list(string))
  default = {
    backoffice = ["catalog:read", "catalog:write", "inventory:read", "inventory:write", "orders:read", "orders:admin", "payments:read", "payments:admin", "shipping:read", "shipping:write", "notifications:read", "agora:admin"]
  }

  validation {
    condition     = alltrue([for name, scopes in var.machine_clients : can(regex("^[a-z][a-z0-9-]{0,30}$", name)) && length(scopes) > 0])
    error_message = "machine_clients maps lowercase names to at least one scope each."
  }
}

variable "ses_sender_domain" {
  description = "Domain the notification mail is sent from."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]+\\.[a-z]{2,}$", var.ses_sender_domain))
    error_message = "ses_sender_domain is a domain name."
  }
}

variable "ses_from_address" {
  description = "From address of the notification mail."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+$", var.ses_from_address))
    error_message = "ses_from_address is an e-mail address."
  }
}

variable "alarm_emails" {
  description = "Addresses the alarms are mailed to."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+$", e))])
    error_message = "alarm_emails are e-mail addresses."
  }
}

variable "pipeline_role_arns" {
  description = "Roles of the deployment pipeline that push images to the ECR repository."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.pipeline_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "pipeline_role_arns are IAM role ARNs."
  }
}

variable "web_logout_urls" {
  description = "Sign-out redirect URLs of the shop's browser client."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.web_logout_urls : startswith(u, "https://")])
    error_message = "web_logout_urls are https URLs."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of each Lambda service's functions by handler kind (the account's unreserved pool must keep 100)."
  type = object({
    http    = number
    kafka   = number
    streams = number
  })
  default = { http = 50, kafka = 10, streams = 5 }

  validation {
    condition     = var.lambda_reserved_concurrency.http >= 2 && var.lambda_reserved_concurrency.kafka >= 1 && var.lambda_reserved_concurrency.streams >= 1
    error_message = "http keeps at least 2, kafka and streams at least 1."
  }
}

variable "fargate_max_count" {
  description = "Most tasks of ordering and of payment."
  type        = number
  default     = 8

  validation {
    condition     = var.fargate_max_count >= 2 && var.fargate_max_count <= 100
    error_message = "fargate_max_count is between 2 and 100."
  }
}
