# Agora's eight services and where each runs.
#
# Lambda runs the services whose work arrives as requests and events:
# catalog, cart, inventory, shipping, notification and orderhistory. Each is
# up to three functions from one zip: http (API Gateway), kafka (the MSK
# event sources of its consumer groups) and, with outbox_relay = streams,
# streams (its table's DynamoDB stream relaying the outbox).
#
# Fargate runs ordering and payment (`agora serve <service>`): ordering
# owns the checkout saga, whose deadline job must run every second whether
# or not a request or event arrives, and both keep a PostgreSQL outbox relay
# woken by LISTEN/NOTIFY and long-lived consumer group members whose
# offsets commit only after the transaction that applied the records.
# Neither fits a function that lives for one invocation.
locals {
  name = "agora-${var.environment}"

  services = {
    catalog = {
      runtime = "lambda"
      store   = "dynamodb"
      redis   = true
      # Periodic jobs (internal/services); on Lambda, the jobs function
      # runs them on var.jobs_schedule.
      jobs = []
      # Resources under /v1 and the scopes of which a token must carry one
      # (internal/platform/auth/scopes.go; api/openapi/<service>.v1.yaml).
      # public_get: GETs answer without a token (security [{}]).
      resources = {
        products   = { scopes = ["catalog:read", "catalog:write"], public_get = true }
        categories = { scopes = ["catalog:read", "catalog:write"], public_get = true }
      }
    }
    inventory = {
      runtime = "lambda"
      store   = "dynamodb"
      redis   = true
      # Periodic jobs (internal/services); on Lambda, the jobs function
      # runs them on var.jobs_schedule.
      jobs = ["reservation-expiry"]
      resources = {
        stock        = { scopes = ["inventory:read", "inventory:write"], public_get = false }
        reservations = { scopes = ["inventory:read"], public_get = false }
      }
    }
    cart = {
      runtime = "lambda"
      store   = "dynamodb"
      redis   = true
      # Periodic jobs (internal/services); on Lambda, the jobs function
      # runs them on var.jobs_schedule.
      jobs = ["cart-expiry"]
      resources = {
        carts = { scopes = ["cart:read", "cart:write"], public_get = false }
      }
    }
    ordering = {
      runtime = "fargate"
      store   = "postgres"
      redis   = true
      # Periodic jobs (internal/services); on Lambda, the jobs function
      # runs them on var.jobs_schedule.
      jobs = ["saga-deadlines"]
      resources = {
        orders = { scopes = ["orders:read", "orders:write", "orders:admin"], public_get = false }
      }
    }
    payment = {
      runtime = "fargate"
      store   = "postgres"
      redis   = true
      # Periodic jobs (internal/services); on Lambda, the jobs function
      # runs them on var.jobs_schedule.
      jobs = []
      resources = {
        payments = { scopes = ["payments:read", "payments:write", "payments:admin"], public_get = false }
      }
    }
    shipping = {
      runtime = "lambda"
      store   = "dynamodb"
      redis   = true
      # Periodic jobs (internal/services); on Lambda, the jobs function
      # runs them on var.jobs_schedule.
      jobs = ["carrier-advancer"]
      resources = {
        shipments = { scopes = ["shipping:read", "shipping:write"], public_get = false }
      }
    }
    notification = {
      runtime = "lambda"
      store   = "dynamodb"
      redis   = false
      # Periodic jobs (internal/services); on Lambda, the jobs function
      # runs them on var.jobs_schedule.
      jobs = ["dispatcher"]
      resources = {
        notifications = { scopes = ["orders:read", "notifications:read"], public_get = false }
        mailbox       = { scopes = ["notifications:read"], public_get = false }
      }
    }
    orderhistory = {
      runtime = "lambda"
      store   = "dynamodb"
      redis   = false
      # Periodic jobs (internal/services); on Lambda, the jobs function
      # runs them on var.jobs_schedule.
      jobs = []
      resources = {
        order-history = { scopes = ["orders:read"], public_get = false }
      }
    }
  }

  lambda_services   = { for k, s in local.services : k => s if s.runtime == "lambda" }
  fargate_services  = { for k, s in local.services : k => s if s.runtime == "fargate" }
  dynamodb_services = toset([for k, s in local.services : k if s.store == "dynamodb"])
  postgres_services = toset([for k, s in local.services : k if s.store == "postgres"])
  redis_services    = toset([for k, s in local.services : k if s.redis])

  # The scopes of internal/platform/auth/scopes.go; Cognito's resource
  # server `agora` issues them as agora/<scope>.
  scopes = {
    "catalog:read"       = "Browse the catalog"
    "catalog:write"      = "Manage products, prices and categories"
    "inventory:read"     = "Read stock levels and reservations"
    "inventory:write"    = "Receive and adjust stock"
    "cart:read"          = "Read one's carts"
    "cart:write"         = "Fill and change one's carts"
    "orders:read"        = "Follow one's orders and their history"
    "orders:write"       = "Check out and cancel one's orders"
    "orders:admin"       = "Operate every order"
    "payments:read"      = "Read payments"
    "payments:write"     = "Pay for one's orders"
    "payments:admin"     = "Refund payments"
    "shipping:read"      = "Track shipments"
    "shipping:write"     = "Advance shipments"
    "notifications:read" = "Read the notifications sent"
    "agora:admin"        = "Operate the whole platform"
  }
  customer_scopes = ["catalog:read", "cart:read", "cart:write", "orders:read", "orders:write", "payments:write", "shipping:read"]

  # ------------------------------------------------------------ topics

  topics_file = var.topics_file != null ? var.topics_file : "${path.module}/../../../api/topics.yaml"
  topics      = yamldecode(file(local.topics_file)).topics

  owned_topics = { for k in keys(local.services) : k => [for t in local.topics : t.name if t.owner == k] }

  # Every (consumer group, topic) pair of api/topics.yaml.
  subscriptions = flatten([
    for t in local.topics : [
      for c in t.consumers : { service = c.service, group = c.group, topic = t.name }
    ]
  ])
  groups_of = { for k in keys(local.services) : k => distinct([for s in local.subscriptions : s.group if s.service == k]) }

  # A Lambda event source mapping reads one topic, and Lambda wants a
  # consumer group ID of its own for each, so a group reading several topics
  # becomes <group>@<topic> on Lambda. On Fargate the group keeps its name.
  lambda_event_sources = {
    for k in keys(local.lambda_services) : k => {
      for s in local.subscriptions : "${s.group}@${s.topic}" => {
        topic             = s.topic
        consumer_group_id = "${s.group}@${s.topic}"
      } if s.service == k
    }
  }
  lag_watch = [
    for s in local.subscriptions : {
      service = s.service
      topic   = s.topic
      group   = local.services[s.service].runtime == "lambda" ? "${s.group}@${s.topic}" : s.group
    }
  ]

  # -------------------------------------------------------------- routes

  api_routes = merge([
    for svc, s in local.services : merge([
      for r, spec in s.resources : merge(
        {
          "${svc}:ANY /v1/${r}" = {
            route_key   = "ANY /v1/${r}"
            integration = svc
            scopes      = [for sc in spec.scopes : "${module.cognito.scope_prefix}${sc}"]
          }
          "${svc}:ANY /v1/${r}/{proxy+}" = {
            route_key   = "ANY /v1/${r}/{proxy+}"
            integration = svc
            scopes      = [for sc in spec.scopes : "${module.cognito.scope_prefix}${sc}"]
          }
        },
        spec.public_get ? {
          "${svc}:GET /v1/${r}" = {
            route_key   = "GET /v1/${r}"
            integration = svc
            scopes      = []
          }
          "${svc}:GET /v1/${r}/{proxy+}" = {
            route_key   = "GET /v1/${r}/{proxy+}"
            integration = svc
            scopes      = []
          }
        } : {},
      )
    ]...)
  ]...)

  fargate_paths = {
    for svc, s in local.fargate_services : svc => flatten([for r in keys(s.resources) : ["/v1/${r}", "/v1/${r}/*"]])
  }
  fargate_priority = { ordering = 10, payment = 20 }
}
