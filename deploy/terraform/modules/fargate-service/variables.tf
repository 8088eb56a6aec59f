variable "name" {
  description = "Name of the ECS service, task family and related resources (e.g. agora-prod-ordering); at most 32 characters (target group names)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{0,31}$", var.name)) && !endswith(var.name, "-")
    error_message = "name is 1-32 letters, digits or '-', not ending with '-'."
  }
}

variable "service" {
  description = "The Agora service the task runs (`agora serve <service>`)."
  type        = string

  validation {
    condition     = contains(["cart", "catalog", "inventory", "notification", "orderhistory", "ordering", "payment", "shipping"], var.service)
    error_message = "service is one of Agora's services."
  }
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:", var.cluster_arn))
    error_message = "cluster_arn is an ECS cluster ARN."
  }
}

variable "cluster_name" {
  description = "Name of the ECS cluster (for the autoscaling resource ID)."
  type        = string

  validation {
    condition     = length(var.cluster_name) > 0
    error_message = "cluster_name is required."
  }
}

variable "image" {
  description = "Container image: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> (immutable tag or @sha256 digest)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/[a-z0-9._/-]+[:@].+$", var.image))
    error_message = "image is an ECR image reference with a tag or digest."
  }
}

variable "ecr_repository_arn" {
  description = "ARN of the ECR repository holding the image (the execution role pulls from it only)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecr:", var.ecr_repository_arn))
    error_message = "ecr_repository_arn is an ECR repository ARN."
  }
}

variable "command" {
  description = "Command of the container; null runs `serve <service>`."
  type        = list(string)
  default     = null

  validation {
    condition     = var.command == null || try(length(var.command) > 0, false)
    error_message = "command is null or a non-empty list."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the image."
  type        = string
  default     = "ARM64"

  validation {
    condition     = contains(["ARM64", "X86_64"], var.cpu_architecture)
    error_message = "cpu_architecture is ARM64 or X86_64."
  }
}

variable "cpu" {
  description = "Task CPU units (256 = 0.25 vCPU)."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu is 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Task memory in MiB (a size Fargate allows for the CPU)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory >= 512 && var.memory <= 122880
    error_message = "memory is between 512 and 122880 MiB."
  }
}

variable "container_port" {
  description = "Port the service's HTTP server listens on (AGORA_<SERVICE>_HTTP_ADDR)."
  type        = number
  default     = 8080

  validation {
    condition     = var.container_port >= 1024 && var.container_port <= 65535
    error_message = "container_port is an unprivileged port (1024-65535): the container runs as a non-root user."
  }
}

variable "user" {
  description = "UID:GID the container runs as (never root)."
  type        = string
  default     = "65532:65532"

  validation {
    condition     = can(regex("^[1-9][0-9]*(:[1-9][0-9]*)?$", var.user))
    error_message = "user is a non-zero numeric UID or UID:GID."
  }
}

variable "environment" {
  description = "The service's settings (AGORA_<SERVICE>_<NAME>; values may be secretsmanager:<id>[#key] or ssm:<name> references the service resolves itself)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.environment) : can(regex("^[A-Z][A-Z0-9_]*$", k))])
    error_message = "environment keys are upper-case variable names."
  }
}

variable "secrets" {
  description = "Variables ECS injects from Secrets Manager at task start: name mapped to the secret ARN, optionally with :<json-key>:: appended."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.secrets) : can(regex("^arn:aws[a-z-]*:secretsmanager:", v))])
    error_message = "secrets values are Secrets Manager ARNs (optionally with :<json-key>::)."
  }
}

variable "policy_json" {
  description = "IAM policy document (JSON) of exactly what the service's code touches; the module adds what the task itself needs (its log group and traces)."
  type        = string

  validation {
    condition     = can(jsondecode(var.policy_json).Statement)
    error_message = "policy_json is an IAM policy document in JSON."
  }
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string

  validation {
    condition     = startswith(var.vpc_id, "vpc-")
    error_message = "vpc_id is a VPC ID (vpc-...)."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids lists at least two subnets."
  }
}

variable "egress" {
  description = "TCP destinations the tasks may reach inside the VPC besides HTTPS: a name known at plan time mapped to a security group and port."
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

variable "load_balancer" {
  description = "The internal ALB the service joins: its HTTPS listener, its security group, the rule priority (unique per listener) and the paths routed to the service (at most five patterns)."
  type = object({
    listener_arn      = string
    security_group_id = string
    priority          = number
    path_patterns     = list(string)
  })

  validation {
    condition     = length(var.load_balancer.path_patterns) >= 1 && length(var.load_balancer.path_patterns) <= 5
    error_message = "load_balancer.path_patterns holds 1 to 5 patterns."
  }

  validation {
    condition     = var.load_balancer.priority >= 1 && var.load_balancer.priority <= 50000
    error_message = "load_balancer.priority is between 1 and 50000."
  }
}

variable "health_check_path" {
  description = "Readiness path the target group probes."
  type        = string
  default     = "/readyz"

  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path starts with /."
  }
}

variable "desired_count" {
  description = "Tasks at first deployment; autoscaling moves it between min_count and max_count."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 1
    error_message = "desired_count is at least 1."
  }
}

variable "min_count" {
  description = "Fewest tasks autoscaling keeps."
  type        = number
  default     = 2

  validation {
    condition     = var.min_count >= 1
    error_message = "min_count is at least 1."
  }
}

variable "max_count" {
  description = "Most tasks autoscaling starts."
  type        = number
  default     = 6

  validation {
    condition     = var.max_count >= 1 && var.max_count <= 100
    error_message = "max_count is between 1 and 100."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation autoscaling keeps the service at."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent is between 10 and 90."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the created log group and of the secrets the execution role reads."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
  }
}

variable "log_group_name" {
  description = "Existing CloudWatch log group of the containers; null creates /agora/ecs/<name>."
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

variable "otel_collector_image" {
  description = "Image of the AWS Distro for OpenTelemetry collector run beside the service (traces to X-Ray); null runs none."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"

  validation {
    condition     = var.otel_collector_image == null || can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+[:@][A-Za-z0-9._:-]+$", var.otel_collector_image))
    error_message = "otel_collector_image is an image reference with a tag or digest, or null."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the service's embedded-format metrics (METRICS_NAMESPACE)."
  type        = string
  default     = "agora"

  validation {
    condition     = can(regex("^[a-zA-Z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace is a custom CloudWatch namespace (not AWS/...)."
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
