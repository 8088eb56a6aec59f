package cart

import "github.com/google/uuid"

// PricedLine is a line of a cart with the product's current price.
type PricedLine struct {
	Line
	// Current is the product's price now; zero when the read model does
	// not know the product.
	Current Money
	// Available reports whether the product is on sale in the cart's
	// currency.
	Available bool
	// Total is Quantity times Current when Available, else zero.
	Total Money
}

// Priced is a cart at current prices.
type Priced struct {
	Lines []PricedLine
	// Items sums the quantities of the available lines.
	Items int64
	// Total sums the available lines' totals.
	Total Money
}

// Price values c's lines at the current prices of products (by product
// ID; missing products are unavailable). Errors: ErrOverflow.
func Price(c *Cart, products map[uuid.UUID]Product) (Priced, error) {
	out := Priced{Lines: make([]PricedLine, 0, len(c.lines)), Total: Money{currency: c.currency}}
	for _, l := range c.lines {
		pl := PricedLine{Line: l, Total: Money{currency: c.currency}}
		if p, ok := products[l.ProductID]; ok {
			pl.Current = p.Price
			pl.Available = p.OnSale() && p.Price.Currency() == c.currency
		}
		if pl.Available {
			var err error
			if pl.Total, err = pl.Current.Times(l.Quantity); err != nil {
				return Priced{}, err
			}
			if out.Total, err = out.Total.Add(pl.Total); err != nil {
				return Priced{}, err
			}
			out.Items += l.Quantity
		}
		out.Lines = append(out.Lines, pl)
	}
	return out, nil
}
