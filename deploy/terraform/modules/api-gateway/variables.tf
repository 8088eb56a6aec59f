variable "name" {
  description = "Name of the HTTP API (e.g. agora-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-]{1,64}$", var.name))
    error_message = "name is 1-64 letters, digits or '-'."
  }
}

variable "jwt_issuer" {
  description = "Issuer of the access tokens the JWT authorizer accepts (the Cognito user pool's issuer URL)."
  type        = string

  validation {
    condition     = startswith(var.jwt_issuer, "https://")
    error_message = "jwt_issuer is an https URL."
  }
}

variable "jwt_audiences" {
  description = "Accepted audiences: for Cognito access tokens, the app client IDs (matched against client_id)."
  type        = list(string)

  validation {
    condition     = length(var.jwt_audiences) >= 1
    error_message = "jwt_audiences lists at least one audience."
  }
}

variable "lambda_integrations" {
  description = "Lambda proxy integrations (payload format 2.0) by a name the routes refer to: the function's name and invoke ARN."
  type = map(object({
    function_name = string
    invoke_arn    = string
    timeout_ms    = optional(number, 29000)
  }))
  default = {}

  validation {
    condition     = alltrue([for i in values(var.lambda_integrations) : i.timeout_ms >= 50 && i.timeout_ms <= 30000])
    error_message = "timeout_ms is between 50 and 30000."
  }
}

variable "alb_integrations" {
  description = "Private integrations through the VPC link to the internal load balancer's HTTPS listener, by a name the routes refer to."
  type = map(object({
    timeout_ms = optional(number, 29000)
  }))
  default = {}

  validation {
    condition     = alltrue([for i in values(var.alb_integrations) : i.timeout_ms >= 50 && i.timeout_ms <= 30000])
    error_message = "timeout_ms is between 50 and 30000."
  }
}

variable "vpc_link" {
  description = "The VPC link to the internal load balancer (needed by alb_integrations): VPC, private subnets, the listener and its security group, and the host name its certificate carries."
  type = object({
    vpc_id                = string
    subnet_ids            = list(string)
    listener_arn          = string
    alb_security_group_id = string
    tls_server_name       = string
  })
  default = null

  validation {
    condition     = var.vpc_link == null || (can(regex("^arn:aws[a-z-]*:elasticloadbalancing:", var.vpc_link.listener_arn)) && length(var.vpc_link.subnet_ids) >= 2 && startswith(var.vpc_link.alb_security_group_id, "sg-"))
    error_message = "vpc_link names an ALB listener ARN, at least two subnets and the load balancer's security group (sg-...)."
  }
}

variable "routes" {
  description = "Routes by a unique name: route key (e.g. 'ANY /v1/orders/{proxy+}'), the integration's name, and the OAuth scopes of which a token must carry one; no scopes makes the route public."
  type = map(object({
    route_key   = string
    integration = string
    scopes      = list(string)
  }))

  validation {
    condition     = alltrue([for r in values(var.routes) : can(regex("^(ANY|GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /v1/", r.route_key))])
    error_message = "route_key is '<METHOD> /v1/...'."
  }
}

variable "throttling_burst_limit" {
  description = "Burst of requests the stage admits across all routes."
  type        = number
  default     = 500

  validation {
    condition     = var.throttling_burst_limit >= 1 && var.throttling_burst_limit <= 5000
    error_message = "throttling_burst_limit is between 1 and 5000."
  }
}

variable "throttling_rate_limit" {
  description = "Steady requests per second the stage admits across all routes."
  type        = number
  default     = 1000

  validation {
    condition     = var.throttling_rate_limit >= 1 && var.throttling_rate_limit <= 10000
    error_message = "throttling_rate_limit is between 1 and 10000."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the access log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN."
  }
}

variable "log_retention_days" {
  description = "Days the access logs are kept."
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
