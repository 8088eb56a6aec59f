variable "environment" {
  description = "The environment: dev or prod (names every resource agora-<environment>-...)."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment is dev or prod."
  }
}

variable "topics_file" {
  description = "Path of api/topics.yaml: which service owns each topic and which consumer groups read it (IAM, event sources and lag alarms follow from it); null uses the repository's."
  type        = string
  default     = null

  validation {
    condition     = var.topics_file == null || try(endswith(var.topics_file, ".yaml"), false)
    error_message = "topics_file is the path of a YAML file or null."
  }
}

variable "lambda_zip_dir" {
  description = "Directory holding <service>.zip for the Lambda services (`make lambda-zips` writes dist/lambda); null uses the repository's dist/lambda."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip_dir == null || try(length(var.lambda_zip_dir) > 0, false)
    error_message = "lambda_zip_dir is a directory path or null."
  }
}

variable "image_tag" {
  description = "Tag of the agora image in the environment's ECR repository that the Fargate services run (the pipeline pushes the commit's SHA)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag is a Docker tag other than latest (tags are immutable)."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the environment's VPC."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr is an IPv4 CIDR block."
  }
}

variable "availability_zones" {
  description = "Availability Zones (names) the environment spreads across, 2 or 3; the MSK broker count is a multiple of their number."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3
    error_message = "availability_zones lists 2 or 3 zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per Availability Zone."
  type        = bool
  default     = false
}

variable "msk_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m7g.large"

  validation {
    condition     = startswith(var.msk_instance_type, "kafka.")
    error_message = "msk_instance_type is an MSK broker type."
  }
}

variable "msk_broker_count" {
  description = "MSK brokers (a multiple of the number of availability_zones)."
  type        = number
  default     = 3

  validation {
    condition     = var.msk_broker_count >= 2
    error_message = "msk_broker_count is at least 2."
  }
}

variable "msk_volume_size" {
  description = "Initial EBS volume per broker in GiB."
  type        = number
  default     = 100

  validation {
    condition     = var.msk_volume_size >= 1
    error_message = "msk_volume_size is at least 1 GiB."
  }
}

variable "rds_instance_class" {
  description = "Instance class of the ordering and payment databases."
  type        = string
  default     = "db.m7g.large"

  validation {
    condition     = startswith(var.rds_instance_class, "db.")
    error_message = "rds_instance_class is a DB instance class."
  }
}

variable "rds_multi_az" {
  description = "Run the ordering and payment databases with a standby in another Availability Zone."
  type        = bool
  default     = true
}

variable "rds_backup_retention_days" {
  description = "Days of automated backups of the databases."
  type        = number
  default     = 14

  validation {
    condition     = var.rds_backup_retention_days >= 7 && var.rds_backup_retention_days <= 35
    error_message = "rds_backup_retention_days is between 7 and 35."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.m7g.large"

  validation {
    condition     = startswith(var.redis_node_type, "cache.")
    error_message = "redis_node_type is a cache node type."
  }
}

variable "redis_replica_count" {
  description = "Redis replicas besides the primary."
  type        = number
  default     = 1

  validation {
    condition     = var.redis_replica_count >= 1 && var.redis_replica_count <= 5
    error_message = "redis_replica_count is between 1 and 5."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of every Lambda function in MiB (CPU grows with it)."
  type        = number
  default     = 1024

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb is between 128 and 10240."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of each Lambda service's functions by handler kind."
  type = object({
    http    = number
    kafka   = number
    streams = number
  })
  default = { http = 50, kafka = 10, streams = 5 }

  validation {
    condition     = var.lambda_reserved_concurrency.http >= 1 && var.lambda_reserved_concurrency.kafka >= 1 && var.lambda_reserved_concurrency.streams >= 1
    error_message = "Every reserved concurrency is at least 1."
  }
}

variable "outbox_relay" {
  description = "How the Lambda services relay their outbox: inline (each invocation relays the rows it wrote) or streams (a function fed by the table's DynamoDB stream, once the DynamoDB stores write their outbox there)."
  type        = string
  default     = "inline"

  validation {
    condition     = contains(["inline", "streams"], var.outbox_relay)
    error_message = "outbox_relay is inline or streams."
  }
}

variable "fargate_cpu" {
  description = "CPU units of an ordering or payment task."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.fargate_cpu)
    error_message = "fargate_cpu is 256, 512, 1024, 2048 or 4096."
  }
}

variable "fargate_memory" {
  description = "Memory of an ordering or payment task in MiB."
  type        = number
  default     = 2048

  validation {
    condition     = var.fargate_memory >= 512 && var.fargate_memory <= 30720
    error_message = "fargate_memory is between 512 and 30720."
  }
}

variable "fargate_min_count" {
  description = "Fewest tasks of ordering and of payment."
  type        = number
  default     = 2

  validation {
    condition     = var.fargate_min_count >= 1
    error_message = "fargate_min_count is at least 1."
  }
}

variable "fargate_max_count" {
  description = "Most tasks of ordering and of payment."
  type        = number
  default     = 6

  validation {
    condition     = var.fargate_max_count >= 1 && var.fargate_max_count <= 100
    error_message = "fargate_max_count is between 1 and 100."
  }
}

variable "alb_certificate_arn" {
  description = "ACM certificate of the internal load balancer (its name is alb_tls_server_name)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.alb_certificate_arn))
    error_message = "alb_certificate_arn is an ACM certificate ARN."
  }
}

variable "alb_tls_server_name" {
  description = "Host name on the load balancer's certificate, which API Gateway verifies over the VPC link."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9*][a-z0-9.-]+[a-z0-9]$", var.alb_tls_server_name))
    error_message = "alb_tls_server_name is a host name."
  }
}

variable "cognito_domain_prefix" {
  description = "Prefix of the Cognito-hosted OAuth domain (globally unique per region)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.cognito_domain_prefix))
    error_message = "cognito_domain_prefix is 1-63 lowercase letters, digits or '-'."
  }
}

variable "web_callback_urls" {
  description = "Sign-in redirect URLs of the shop's browser client."
  type        = list(string)

  validation {
    condition     = length(var.web_callback_urls) >= 1
    error_message = "web_callback_urls lists at least one URL."
  }
}

variable "web_logout_urls" {
  description = "Sign-out redirect URLs of the shop's browser client."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.web_logout_urls : startswith(u, "https://") || startswith(u, "http://localhost")])
    error_message = "web_logout_urls are https (or http://localhost) URLs."
  }
}

variable "machine_clients" {
  description = "Client-credentials clients (back office, integrations, load tests) by name, with their scopes (names from internal/platform/auth/scopes.go)."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for name, scopes in var.machine_clients : can(regex("^[a-z][a-z0-9-]{0,30}$", name)) && length(scopes) > 0])
    error_message = "machine_clients maps lowercase names to at least one scope each."
  }
}

variable "ses_sender_domain" {
  description = "Domain the notification service sends mail from (an SES identity is created; publish its DKIM records)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]+\\.[a-z]{2,}$", var.ses_sender_domain))
    error_message = "ses_sender_domain is a domain name."
  }
}

variable "ses_from_address" {
  description = "From address of the notification mail (in ses_sender_domain)."
  type        = string

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+$", var.ses_from_address))
    error_message = "ses_from_address is an e-mail address."
  }
}

variable "api_throttling_burst" {
  description = "Burst of requests the API admits."
  type        = number
  default     = 500

  validation {
    condition     = var.api_throttling_burst >= 1
    error_message = "api_throttling_burst is at least 1."
  }
}

variable "api_throttling_rate" {
  description = "Steady requests per second the API admits."
  type        = number
  default     = 1000

  validation {
    condition     = var.api_throttling_rate >= 1
    error_message = "api_throttling_rate is at least 1."
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

variable "log_retention_days" {
  description = "Days every log group keeps logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days is one of the values CloudWatch Logs accepts."
  }
}

variable "deletion_protection" {
  description = "Protect the stateful resources (tables, databases, load balancer, user pool) from deletion."
  type        = bool
  default     = true
}

variable "pipeline_role_arns" {
  description = "Roles of the deployment pipeline allowed to push images to the environment's ECR repository."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.pipeline_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "pipeline_role_arns are IAM role ARNs."
  }
}

variable "tags" {
  description = "Tags added to every resource (the providers' default tags come on top)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags keys are 1-128 characters, not starting with aws:, and values at most 256 characters."
  }
}

variable "jobs_schedule" {
  description = "How often the Lambda services' jobs functions run their periodic jobs (reservation and cart expiry, the simulated carrier, the email dispatcher): an EventBridge rate or cron expression. EventBridge fires at most once a minute."
  type        = string
  default     = "rate(1 minute)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.jobs_schedule))
    error_message = "jobs_schedule is rate(...) or cron(...)."
  }
}

variable "lambda_otel_layer_arn" {
  description = "ARN of the AWS Distro for OpenTelemetry collector layer (arm64) for the Lambda functions: with it the services export their traces over OTLP to the layer's collector, which sends them to X-Ray; null exports no traces from the functions (Lambda's own active tracing still records each invocation)."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_otel_layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.lambda_otel_layer_arn))
    error_message = "lambda_otel_layer_arn is a Lambda layer version ARN."
  }
}
