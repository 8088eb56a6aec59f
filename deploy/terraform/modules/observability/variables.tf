variable "name" {
  description = "Name prefix of the environment's observability resources (e.g. agora-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,24}$", var.name))
    error_message = "name is 2-25 lowercase letters, digits or '-', starting with a letter (X-Ray rule names are short)."
  }
}

variable "log_group_services" {
  description = "Services that get a log group /agora/<name>/<service> here (kept apart from services so that the functions and tasks writing to the groups may feed services without a cycle)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.log_group_services : can(regex("^[a-z][a-z0-9-]*$", s))])
    error_message = "log_group_services are service names."
  }
}

variable "services" {
  description = "The services to watch, by name: where they run and where their metrics come from. Lambda services name their HTTP function (latency); Fargate services their target group and load balancer ARN suffixes. dlq_queue_names are SQS dead-letter queues; publishes says whether the service has an outbox (outbox age alarm)."
  type = map(object({
    runtime                  = string
    function_names           = optional(list(string), [])
    http_function_name       = optional(string)
    ecs_cluster_name         = optional(string)
    ecs_service_name         = optional(string)
    target_group_arn_suffix  = optional(string)
    load_balancer_arn_suffix = optional(string)
    dlq_queue_names          = optional(list(string), [])
    publishes                = optional(bool, true)
  }))

  validation {
    condition     = alltrue([for s in values(var.services) : contains(["lambda", "fargate"], s.runtime)])
    error_message = "runtime is lambda or fargate."
  }

  validation {
    condition = alltrue([for s in values(var.services) :
      s.runtime == "lambda" ? s.http_function_name != null :
      (s.target_group_arn_suffix != null && s.load_balancer_arn_suffix != null && s.ecs_cluster_name != null && s.ecs_service_name != null)
    ])
    error_message = "A lambda service names its http_function_name; a fargate service its ECS cluster and service names and its target group and load balancer ARN suffixes."
  }
}

variable "consumers" {
  description = "Kafka consumer groups to watch for lag: the service, the group ID as the cluster knows it, and the topic."
  type = list(object({
    service = string
    group   = string
    topic   = string
  }))
  default = []

  validation {
    condition     = alltrue([for c in var.consumers : length(c.group) > 0 && length(c.topic) > 0 && length(c.service) > 0])
    error_message = "every consumer names its service, group and topic."
  }
}

variable "msk_cluster_name" {
  description = "Name of the MSK cluster (the 'Cluster Name' dimension of consumer lag)."
  type        = string
  default     = null

  validation {
    condition     = var.msk_cluster_name == null || can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,63}$", var.msk_cluster_name))
    error_message = "msk_cluster_name is an MSK cluster name or null."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of Agora's own metrics (log errors, outbox age)."
  type        = string
  default     = "agora"

  validation {
    condition     = can(regex("^[a-zA-Z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace is a custom CloudWatch namespace (not AWS/...)."
  }
}

variable "latency_p99_ms" {
  description = "p99 latency of a service's HTTP requests, in milliseconds, above which its alarm fires."
  type        = number
  default     = 1000

  validation {
    condition     = var.latency_p99_ms > 0
    error_message = "latency_p99_ms is positive."
  }
}

variable "error_logs_per_5m" {
  description = "Error log lines of one service in five minutes above which its alarm fires."
  type        = number
  default     = 5

  validation {
    condition     = var.error_logs_per_5m >= 0
    error_message = "error_logs_per_5m is zero or more."
  }
}

variable "consumer_lag_records" {
  description = "Records a consumer group may lag behind on a topic (SumOffsetLag) for 15 minutes before its alarm fires."
  type        = number
  default     = 1000

  validation {
    condition     = var.consumer_lag_records >= 1
    error_message = "consumer_lag_records is at least 1."
  }
}

variable "outbox_age_seconds" {
  description = "Age in seconds of the oldest unrelayed outbox row (metric outbox_oldest_age_seconds) above which the alarm fires."
  type        = number
  default     = 60

  validation {
    condition     = var.outbox_age_seconds >= 1
    error_message = "outbox_age_seconds is at least 1."
  }
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each confirms by mail)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails are e-mail addresses."
  }
}

variable "trace_sample_rate" {
  description = "Share of requests X-Ray samples beyond the reservoir (0-1)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.trace_sample_rate >= 0 && var.trace_sample_rate <= 1
    error_message = "trace_sample_rate is between 0 and 1."
  }
}

variable "trace_reservoir_per_second" {
  description = "Requests per second X-Ray traces before applying the rate."
  type        = number
  default     = 5

  validation {
    condition     = var.trace_reservoir_per_second >= 0
    error_message = "trace_reservoir_per_second is zero or more."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the log groups and the alarm topic (its policy must let CloudWatch use it)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Days the services' log groups keep logs."
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
