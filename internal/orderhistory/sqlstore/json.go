package sqlstore

import (
	"encoding/json"
	"fmt"

	"github.com/agoracommerce/agora/internal/orderhistory"
)

// The JSON the adapter stores an entry's facts and an order's lines in.
// Field names are part of the stored format: add, never rename.
type moneyJSON struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type lineJSON struct {
	SKU       string    `json:"sku"`
	ProductID string    `json:"product_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	Quantity  int32     `json:"quantity"`
	UnitPrice moneyJSON `json:"unit_price"`
}

type factsJSON struct {
	Amount         *moneyJSON `json:"amount,omitempty"`
	RefundedTotal  *moneyJSON `json:"refunded_total,omitempty"`
	Carrier        string     `json:"carrier,omitempty"`
	TrackingNumber string     `json:"tracking_number,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	Code           string     `json:"code,omitempty"`
	PaymentID      string     `json:"payment_id,omitempty"`
	ShipmentID     string     `json:"shipment_id,omitempty"`
	Quantity       int64      `json:"quantity,omitempty"`
	Refund         bool       `json:"refund,omitempty"`
	Lines          []lineJSON `json:"lines,omitempty"`
}

func toMoneyJSON(m orderhistory.Money) *moneyJSON {
	if m.IsZero() {
		return nil
	}
	return &moneyJSON{Amount: m.Amount, Currency: m.Currency}
}

func fromMoneyJSON(m *moneyJSON) orderhistory.Money {
	if m == nil {
		return orderhistory.Money{}
	}
	return orderhistory.Money{Amount: m.Amount, Currency: m.Currency}
}

func toLinesJSON(lines []orderhistory.Line) []lineJSON {
	out := make([]lineJSON, len(lines))
	for i, l := range lines {
		out[i] = lineJSON{SKU: l.SKU, ProductID: l.ProductID, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: moneyJSON{Amount: l.UnitPrice.Amount, Currency: l.UnitPrice.Currency}}
	}
	return out
}

func fromLinesJSON(lines []lineJSON) []orderhistory.Line {
	if len(lines) == 0 {
		return nil
	}
	out := make([]orderhistory.Line, len(lines))
	for i, l := range lines {
		out[i] = orderhistory.Line{SKU: l.SKU, ProductID: l.ProductID, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: orderhistory.Money{Amount: l.UnitPrice.Amount, Currency: l.UnitPrice.Currency}}
	}
	return out
}

func encodeFacts(e orderhistory.Entry) (string, error) {
	f := e.Facts
	b, err := json.Marshal(factsJSON{
		Amount: toMoneyJSON(f.Amount), RefundedTotal: toMoneyJSON(f.RefundedTotal), Carrier: f.Carrier,
		TrackingNumber: f.TrackingNumber, Reason: f.Reason, Code: string(f.Code), PaymentID: f.PaymentID,
		ShipmentID: f.ShipmentID, Quantity: f.Quantity, Refund: f.Refund, Lines: toLinesJSON(e.Lines),
	})
	if err != nil {
		return "", fmt.Errorf("encode facts: %w", err)
	}
	return string(b), nil
}

func decodeFacts(raw string, e *orderhistory.Entry) error {
	var f factsJSON
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return fmt.Errorf("decode facts: %w", err)
	}
	e.Facts = orderhistory.Facts{
		Amount: fromMoneyJSON(f.Amount), RefundedTotal: fromMoneyJSON(f.RefundedTotal), Carrier: f.Carrier,
		TrackingNumber: f.TrackingNumber, Reason: f.Reason, Code: orderhistory.EndCode(f.Code), PaymentID: f.PaymentID,
		ShipmentID: f.ShipmentID, Quantity: f.Quantity, Refund: f.Refund,
	}
	e.Lines = fromLinesJSON(f.Lines)
	return nil
}

func encodeLines(lines []orderhistory.Line) (string, error) {
	b, err := json.Marshal(toLinesJSON(lines))
	if err != nil {
		return "", fmt.Errorf("encode lines: %w", err)
	}
	return string(b), nil
}

func decodeLines(raw string) ([]orderhistory.Line, error) {
	var lines []lineJSON
	if err := json.Unmarshal([]byte(raw), &lines); err != nil {
		return nil, fmt.Errorf("decode lines: %w", err)
	}
	return fromLinesJSON(lines), nil
}
