package auth

// OAuth 2.0 scopes of Agora's APIs. Services declare them in their OpenAPI
// security requirements, the development issuer grants them, and the CLI
// presets use them; keeping them here lets all three agree.
const (
	ScopeCatalogRead    = "catalog:read"
	ScopeCatalogWrite   = "catalog:write"
	ScopeInventoryRead  = "inventory:read"
	ScopeInventoryWrite = "inventory:write"
	ScopeCartRead       = "cart:read"
	ScopeCartWrite      = "cart:write"
	ScopeOrdersRead     = "orders:read"
	ScopeOrdersWrite    = "orders:write"
	ScopeOrdersAdmin    = "orders:admin"
	ScopePaymentsRead   = "payments:read"
	ScopePaymentsWrite  = "payments:write"
	ScopePaymentsAdmin  = "payments:admin"
	ScopeShippingRead   = "shipping:read"
	ScopeShippingWrite  = "shipping:write"
	ScopeNotifications  = "notifications:read"
	// ScopeAdmin is the platform-wide operator scope: it passes every
	// object-level ownership check (RequireOwner).
	ScopeAdmin = "agora:admin"
)

// CustomerScopes returns the scopes a shopper's token carries: browse the
// catalog, fill a cart, check out and follow their own orders.
func CustomerScopes() []string {
	return []string{
		ScopeCatalogRead,
		ScopeCartRead,
		ScopeCartWrite,
		ScopeOrdersRead,
		ScopeOrdersWrite,
		ScopePaymentsWrite,
		ScopeShippingRead,
	}
}

// AdminScopes returns the scopes an operator's token carries: every scope
// Agora defines.
func AdminScopes() []string {
	return []string{
		ScopeCatalogRead,
		ScopeCatalogWrite,
		ScopeInventoryRead,
		ScopeInventoryWrite,
		ScopeCartRead,
		ScopeCartWrite,
		ScopeOrdersRead,
		ScopeOrdersWrite,
		ScopeOrdersAdmin,
		ScopePaymentsRead,
		ScopePaymentsWrite,
		ScopePaymentsAdmin,
		ScopeShippingRead,
		ScopeShippingWrite,
		ScopeNotifications,
		ScopeAdmin,
	}
}
