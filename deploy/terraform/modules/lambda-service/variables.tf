variable "name" {
  description = "Name prefix of the service's functions and resources (e.g. agora-prod-catalog); each function is <name>-<handler>."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-]{1,50}$", var.name))
    error_message = "name is 1-50 letters, digits or '-'."
  }
}

variable "service" {
  description = "The Agora service the functions run (AGORA_SERVICE)."
  type        = string

  validation {
    condition     = contains(["cart", "catalog", "inventory", "notification", "orderhistory", "ordering", "payment", "shipping"], var.service)
    error_message = "service is one of Agora's services: cart, catalog, inventory, notification, orderhistory, ordering, payment, shipping."
  }
}

variable "zip_path" {
  description = "Path of the deployment package: a zip holding the `bootstrap` executable (linux/arm64), as `make lambda-zips` writes to dist/lambda/<service>.zip."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path names a .zip file."
  }
}

variable "handlers" {
  description = "The functions to create, by handler kind (AGORA_LAMBDA_HANDLER): http for API Gateway, kafka for the MSK event sources, streams for the DynamoDB Streams outbox relay, jobs for the scheduled periodic jobs; with memory, timeout and reserved concurrency each."
  type = map(object({
    memory_mb            = optional(number, 512)
    timeout_seconds      = optional(number, 30)
    reserved_concurrency = optional(number, 10)
  }))

  validation {
    condition     = length(var.handlers) > 0 && alltrue([for k in keys(var.handlers) : contains(["http", "kafka", "streams", "jobs"], k)])
    error_message = "handlers has at least one of the keys http, kafka, streams and jobs, and no other."
  }

  validation {
    condition     = alltrue([for h in values(var.handlers) : h.memory_mb >= 128 && h.memory_mb <= 10240 && h.timeout_seconds >= 1 && h.timeout_seconds <= 900 && h.reserved_concurrency >= 1])
    error_message = "memory_mb is 128-10240, timeout_seconds 1-900 and reserved_concurrency at least 1."
  }
}

variable "outbox_relay" {
  description = "Who relays the outbox rows the functions write: inline (each invocation relays its own before it returns) or streams (the streams function, fed by the table's DynamoDB stream)."
  type        = string
  default     = "inline"

  validation {
    condition     = contains(["inline", "streams"], var.outbox_relay)
    error_message = "outbox_relay is inline or streams."
  }
}

variable "environment" {
  description = "The service's settings (AGORA_<SERVICE>_<NAME>; values may be secretsmanager:<id>[#key] or ssm:<name> references). AGORA_SERVICE, AGORA_LAMBDA_HANDLER and AGORA_LAMBDA_OUTBOX are set by the module."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment) : can(regex("^[A-Z][A-Z0-9_]*$", k)) && !contains(["AGORA_SERVICE", "AGORA_LAMBDA_HANDLER", "AGORA_LAMBDA_OUTBOX"], k)])
    error_message = "environment keys are upper-case variable names, other than the ones the module sets."
  }
}

variable "policy_json" {
  description = "IAM policy document (JSON) of exactly what the service's code touches: its table, its topics and groups, its secrets, its registry. The module adds what the functions themselves need (logs, tracing, network interfaces, event sources, the dead-letter queue, the key)."
  type        = string

  validation {
    condition     = can(jsondecode(var.policy_json).Statement)
    error_message = "policy_json is an IAM policy document in JSON."
  }
}

variable "vpc_id" {
  description = "VPC the functions run in."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id is a VPC ID (vpc-...)."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the functions' network interfaces."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids lists at least two subnets."
  }
}

variable "egress" {
  description = "TCP destinations the functions may reach inside the VPC besides HTTPS: a name known at plan time mapped to a security group and port (Kafka 9098, Redis 6379, PostgreSQL 5432)."
  type = map(object({
    security_group_id = string
    port              = number
  }))
  default = {}

  validation {
    condition     = alltrue([for e in values(var.egress) : startswith(e.security_group_id, "sg-") && e.port >= 1 && e.port <= 65535])
    error_message = "each egress entry has a security group ID (sg-...) and a port from 1 to 65535."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the environment variables, the log group and the dead-letter queue."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
  }
}

variable "log_group_name" {
  description = "Existing CloudWatch log group the functions write to (the service writes JSON lines; Lambda adds its own START/END/REPORT lines); null creates /aws/lambda/<name>."
  type        = string
  default     = null

  validation {
    condition     = var.log_group_name == null || can(regex("^[a-zA-Z0-9_/.#-]{1,512}$", var.log_group_name))
    error_message = "log_group_name is a log group name or null."
  }
}

variable "log_retention_days" {
  description = "Days the created log group keeps logs (when log_group_name is null)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days is one of the values CloudWatch Logs accepts."
  }
}

variable "msk" {
  description = "The MSK cluster the kafka function's event sources read: its ARN and the IAM ARN prefixes of its topics and groups (module msk outputs). Null without Kafka event sources."
  type = object({
    cluster_arn      = string
    topic_arn_prefix = string
    group_arn_prefix = string
  })
  default = null

  validation {
    condition     = var.msk == null || (can(regex("^arn:aws[a-z-]*:kafka:", var.msk.cluster_arn)) && can(regex(":topic/", var.msk.topic_arn_prefix)) && can(regex(":group/", var.msk.group_arn_prefix)))
    error_message = "msk names an MSK cluster ARN and its topic and group ARN prefixes (module msk outputs)."
  }
}

variable "kafka_event_sources" {
  description = "MSK event source mappings of the kafka function, one per topic (Lambda allows one topic per mapping and a consumer group ID per mapping): topic, consumer group ID, batching and the start position of a new group."
  type = map(object({
    topic                  = string
    consumer_group_id      = string
    batch_size             = optional(number, 100)
    batching_window_second = optional(number, 1)
    starting_position      = optional(string, "TRIM_HORIZON")
  }))
  default = {}

  validation {
    condition     = alltrue([for s in values(var.kafka_event_sources) : contains(["TRIM_HORIZON", "LATEST"], s.starting_position) && s.batch_size >= 1 && s.batch_size <= 10000 && s.batching_window_second >= 0 && s.batching_window_second <= 300])
    error_message = "starting_position is TRIM_HORIZON or LATEST, batch_size 1-10000 and batching_window_second 0-300."
  }

  validation {
    condition     = length(distinct([for s in values(var.kafka_event_sources) : s.consumer_group_id])) == length(var.kafka_event_sources)
    error_message = "Every Kafka event source needs its own consumer group ID."
  }
}

variable "dynamodb_stream" {
  description = "The DynamoDB stream of the service's table that the streams function relays the outbox from, with its batching and retries; null without."
  type = object({
    stream_arn             = string
    batch_size             = optional(number, 100)
    batching_window_second = optional(number, 0)
    maximum_retry_attempts = optional(number, 50)
    filter_pattern         = optional(string, "{\"eventName\":[\"INSERT\"]}")
  })
  default = null

  validation {
    condition     = var.dynamodb_stream == null || (can(regex("^arn:aws[a-z-]*:dynamodb:.*/stream/", var.dynamodb_stream.stream_arn)) && try(var.dynamodb_stream.batch_size >= 1 && var.dynamodb_stream.batch_size <= 10000 && var.dynamodb_stream.maximum_retry_attempts >= -1 && var.dynamodb_stream.maximum_retry_attempts <= 10000, false))
    error_message = "dynamodb_stream names a DynamoDB stream ARN, a batch size of 1-10000 and retries from -1 (forever) to 10000."
  }
}

variable "layers" {
  description = "Lambda layer ARNs added to every function (for example the AWS Distro for OpenTelemetry collector)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.layers) <= 5
    error_message = "A function has at most five layers."
  }
}

variable "code_signing_config_arn" {
  description = "Code signing configuration enforced on the functions; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.code_signing_config_arn == null || can(regex("^arn:aws[a-z-]*:lambda:.*:code-signing-config:", var.code_signing_config_arn))
    error_message = "code_signing_config_arn is a Lambda code signing configuration ARN or null."
  }
}

variable "alarms" {
  description = "Create the alarms (errors, throttles, p99 duration, dead-letter queue depth); they notify alarm_topic_arn."
  type        = bool
  default     = true
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify (required when alarms is true)."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "alarm_topic_arn is an SNS topic ARN or null."
  }
}

variable "dlq_alarm" {
  description = "Create the alarm on the dead-letter queue's depth here (turn off when another module alarms on it)."
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

variable "schedule" {
  description = "When the jobs function runs (an EventBridge schedule expression such as rate(1 minute)) and which of the service's periodic jobs it runs each time (empty: all). Needs a jobs handler."
  type = object({
    expression = string
    jobs       = optional(list(string), [])
  })
  default = null

  validation {
    condition     = var.schedule == null || can(regex("^(rate|cron)\\(.+\\)$", var.schedule.expression))
    error_message = "schedule.expression is rate(...) or cron(...)."
  }
}
