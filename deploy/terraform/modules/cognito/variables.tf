variable "name" {
  description = "Name of the user pool (e.g. agora-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,128}$", var.name))
    error_message = "name is 1-128 letters, digits, '_' or '-'."
  }
}

variable "domain_prefix" {
  description = "Prefix of the Cognito-hosted domain (<prefix>.auth.<region>.amazoncognito.com) serving the OAuth 2.0 endpoints."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.domain_prefix)) && !strcontains(var.domain_prefix, "aws") && !strcontains(var.domain_prefix, "cognito")
    error_message = "domain_prefix is 1-63 lowercase letters, digits or '-', without 'aws' or 'cognito'."
  }
}

variable "resource_server_identifier" {
  description = "Identifier of the resource server; a token's scopes read <identifier>/<scope>."
  type        = string
  default     = "agora"

  validation {
    condition     = can(regex("^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,256}$", var.resource_server_identifier))
    error_message = "resource_server_identifier is 1-256 printable characters without spaces, quotes or backslashes."
  }
}

variable "scopes" {
  description = "The API's OAuth 2.0 scopes (internal/platform/auth/scopes.go) with a description each."
  type        = map(string)

  validation {
    condition     = length(var.scopes) >= 1 && length(var.scopes) <= 100 && alltrue([for s in keys(var.scopes) : can(regex("^[\\x21\\x23-\\x2E\\x30-\\x5B\\x5D-\\x7E]{1,256}$", s))])
    error_message = "scopes holds 1-100 scope names of printable characters without spaces, quotes, '/' or backslashes."
  }
}

variable "customer_scopes" {
  description = "Scopes the browser client (authorization code with PKCE) may ask for: what a shopper's token carries."
  type        = list(string)

  validation {
    condition     = length(var.customer_scopes) >= 1
    error_message = "customer_scopes lists at least one scope."
  }
}

variable "machine_clients" {
  description = "Confidential clients using the client-credentials grant (back-office tools, integrations, load tests), by name, with their scopes."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for scopes in values(var.machine_clients) : length(scopes) >= 1])
    error_message = "every machine client names at least one scope."
  }
}

variable "callback_urls" {
  description = "Where the browser client may be redirected after sign-in (https, or http://localhost for development)."
  type        = list(string)

  validation {
    condition     = length(var.callback_urls) >= 1 && alltrue([for u in var.callback_urls : startswith(u, "https://") || startswith(u, "http://localhost")])
    error_message = "callback_urls lists at least one https (or http://localhost) URL."
  }
}

variable "logout_urls" {
  description = "Where the browser client may be redirected after sign-out."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.logout_urls : startswith(u, "https://") || startswith(u, "http://localhost")])
    error_message = "logout_urls are https (or http://localhost) URLs."
  }
}

variable "access_token_minutes" {
  description = "Lifetime of access and ID tokens in minutes."
  type        = number
  default     = 60

  validation {
    condition     = var.access_token_minutes >= 5 && var.access_token_minutes <= 1440
    error_message = "access_token_minutes is between 5 and 1440."
  }
}

variable "refresh_token_days" {
  description = "Lifetime of the browser client's refresh tokens in days."
  type        = number
  default     = 30

  validation {
    condition     = var.refresh_token_days >= 1 && var.refresh_token_days <= 3650
    error_message = "refresh_token_days is between 1 and 3650."
  }
}

variable "ses_email_identity_arn" {
  description = "SES identity Cognito sends its own mail (codes, invitations) from; null uses Cognito's default sender (low daily quota)."
  type        = string
  default     = null

  validation {
    condition     = var.ses_email_identity_arn == null || can(regex("^arn:aws[a-z-]*:ses:", var.ses_email_identity_arn))
    error_message = "ses_email_identity_arn is an SES identity ARN or null."
  }
}

variable "ses_from_address" {
  description = "From address of Cognito's mail when ses_email_identity_arn is set."
  type        = string
  default     = null

  validation {
    condition     = var.ses_from_address == null || can(regex("^[^@\\s]+@[^@\\s]+$", var.ses_from_address))
    error_message = "ses_from_address is an e-mail address or null."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the user pool."
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
