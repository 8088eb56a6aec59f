package dynamostore

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/orderhistory"
	"github.com/agoracommerce/agora/internal/orderhistory/app"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
)

// The stored form of entries, summaries and guards. Attribute names are
// part of the stored format: add, never rename. Empty strings and zero
// money are left out; a missing attribute reads as the zero value.

// Sort keys and key prefixes.
const (
	summarySK   = "SUMMARY"
	entryPrefix = "E#"
	guardSK     = "EVENT"
)

// shards is how many gsi2 partitions a generation's summaries are spread
// over. It is part of the stored format: a generation written with one
// count is only found whole with the same count.
const shards = 16

func genPrefix(g app.Generation) string { return "G#" + strconv.FormatInt(int64(g), 10) + "#" }

// orderPK is the partition of one order's entries and summary.
func orderPK(g app.Generation, orderID string) string { return genPrefix(g) + "ORDER#" + orderID }

func entrySK(eventID string) string { return entryPrefix + eventID }

// guardKey is the key of the item that reserves an event ID for one order
// of a generation.
func guardKey(g app.Generation, eventID string) map[string]types.AttributeValue {
	return dynamo.Key(genPrefix(g)+"EVENT#"+eventID, guardSK)
}

func customerPK(g app.Generation, customerID string) string {
	return genPrefix(g) + "CUST#" + customerID
}

// listSK orders a customer's orders by placed time, then order ID; the
// time is fixed-width, so string order is (time, ID) order.
func listSK(placedAt time.Time, orderID string) string { return pad(micros(placedAt)) + "#" + orderID }

// shardPK is the gsi2 partition of the summaries of one shard of a
// generation.
func shardPK(g app.Generation, orderID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(orderID))
	return shardPKOf(g, int(h.Sum32()%shards))
}

func shardPKOf(g app.Generation, shard int) string {
	return genPrefix(g) + "ORDERS#" + strconv.Itoa(shard)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func pad(v int64) string { return fmt.Sprintf("%020d", max(v, 0)) }

// attrs builds an item or a map attribute.
type attrs map[string]types.AttributeValue

// str sets name to v unless v is empty.
func (a attrs) str(name, v string) {
	if v != "" {
		a[name] = dynamo.S(v)
	}
}

// money sets name to {amount, currency} unless m is zero.
func (a attrs) money(name string, m orderhistory.Money) {
	if m.IsZero() {
		return
	}
	v := attrs{"amount": dynamo.N(m.Amount)}
	v.str("currency", m.Currency)
	a[name] = &types.AttributeValueMemberM{Value: v}
}

// reader decodes an item, keeping the first error.
type reader struct {
	item map[string]types.AttributeValue
	err  error
}

func (r *reader) str(name string) string { return dynamo.GetS(r.item, name) }

// num reads a number that must be there.
func (r *reader) num(name string) int64 {
	n, err := dynamo.GetN(r.item, name)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n
}

// optNum reads a number that may be missing (0).
func (r *reader) optNum(name string) int64 {
	if _, ok := r.item[name]; !ok {
		return 0
	}
	return r.num(name)
}

func (r *reader) bool(name string) bool {
	v, _ := r.item[name].(*types.AttributeValueMemberBOOL)
	return v != nil && v.Value
}

func (r *reader) money(name string) orderhistory.Money {
	m, ok := r.item[name].(*types.AttributeValueMemberM)
	if !ok {
		return orderhistory.Money{}
	}
	inner := reader{item: m.Value}
	out := orderhistory.Money{Amount: inner.num("amount"), Currency: inner.str("currency")}
	if inner.err != nil && r.err == nil {
		r.err = fmt.Errorf("%s: %w", name, inner.err)
	}
	return out
}

func (r *reader) lines(name string) []orderhistory.Line {
	l, ok := r.item[name].(*types.AttributeValueMemberL)
	if !ok || len(l.Value) == 0 {
		return nil
	}
	out := make([]orderhistory.Line, 0, len(l.Value))
	for i, v := range l.Value {
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			r.fail(fmt.Errorf("line %d is not a map", i))
			return nil
		}
		lr := reader{item: m.Value}
		q := lr.num("quantity")
		if lr.err == nil && (q < math.MinInt32 || q > math.MaxInt32) {
			lr.err = fmt.Errorf("quantity %d is out of range", q)
		}
		line := orderhistory.Line{SKU: lr.str("sku"), ProductID: lr.str("product_id"), Name: lr.str("name"),
			Quantity:  int32(q), // #nosec G115 -- range checked above
			UnitPrice: orderhistory.Money{Amount: lr.num("unit_amount"), Currency: lr.str("unit_currency")}}
		if lr.err != nil {
			r.fail(fmt.Errorf("line %d: %w", i, lr.err))
			return nil
		}
		out = append(out, line)
	}
	return out
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func linesValue(lines []orderhistory.Line) types.AttributeValue {
	out := make([]types.AttributeValue, len(lines))
	for i, l := range lines {
		m := attrs{"quantity": dynamo.N(int64(l.Quantity)), "unit_amount": dynamo.N(l.UnitPrice.Amount)}
		m.str("sku", l.SKU)
		m.str("product_id", l.ProductID)
		m.str("name", l.Name)
		m.str("unit_currency", l.UnitPrice.Currency)
		out[i] = &types.AttributeValueMemberM{Value: m}
	}
	return &types.AttributeValueMemberL{Value: out}
}

// entryItem is the stored form of an entry of generation g.
func entryItem(g app.Generation, e orderhistory.Entry) map[string]types.AttributeValue {
	item := attrs(dynamo.Key(orderPK(g, e.OrderID), entrySK(e.EventID)))
	item["event_id"] = dynamo.S(e.EventID)
	item["order_id"] = dynamo.S(e.OrderID)
	item["type"] = dynamo.S(string(e.Type))
	item["occurred_at"] = dynamo.N(micros(e.OccurredAt))
	item.str("customer_id", e.CustomerID)
	f := e.Facts
	facts := attrs{}
	facts.money("amount", f.Amount)
	facts.money("refunded_total", f.RefundedTotal)
	facts.str("carrier", f.Carrier)
	facts.str("tracking_number", f.TrackingNumber)
	facts.str("reason", f.Reason)
	facts.str("code", string(f.Code))
	facts.str("payment_id", f.PaymentID)
	facts.str("shipment_id", f.ShipmentID)
	if f.Quantity != 0 {
		facts["quantity"] = dynamo.N(f.Quantity)
	}
	if f.Refund {
		facts["refund"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if len(facts) > 0 {
		item["facts"] = &types.AttributeValueMemberM{Value: facts}
	}
	if len(e.Lines) > 0 {
		item["lines"] = linesValue(e.Lines)
	}
	return item
}

func decodeEntry(item map[string]types.AttributeValue) (orderhistory.Entry, error) {
	r := reader{item: item}
	e := orderhistory.Entry{EventID: r.str("event_id"), OrderID: r.str("order_id"), Type: orderhistory.EntryType(r.str("type")),
		OccurredAt: fromMicros(r.num("occurred_at")), CustomerID: r.str("customer_id"), Lines: r.lines("lines")}
	if m, ok := item["facts"].(*types.AttributeValueMemberM); ok {
		f := reader{item: m.Value}
		e.Facts = orderhistory.Facts{Amount: f.money("amount"), RefundedTotal: f.money("refunded_total"), Carrier: f.str("carrier"),
			TrackingNumber: f.str("tracking_number"), Reason: f.str("reason"), Code: orderhistory.EndCode(f.str("code")),
			PaymentID: f.str("payment_id"), ShipmentID: f.str("shipment_id"), Quantity: f.optNum("quantity"), Refund: f.bool("refund")}
		if f.err != nil {
			r.fail(fmt.Errorf("facts: %w", f.err))
		}
	}
	if r.err != nil {
		return orderhistory.Entry{}, stored("entry "+e.EventID, r.err)
	}
	return e, nil
}

// summaryItem is the stored form of an order's summary in generation g:
// listed by customer (gsi1) once placed, and found by shard (gsi2) from
// its first entry on.
func summaryItem(g app.Generation, sum orderhistory.Summary) map[string]types.AttributeValue {
	item := attrs(dynamo.Key(orderPK(g, sum.OrderID), summarySK))
	item["order_id"] = dynamo.S(sum.OrderID)
	item.str("customer_id", sum.CustomerID)
	item["placed"] = &types.AttributeValueMemberBOOL{Value: sum.Placed}
	item.str("status", string(sum.Status))
	item["total_amount"] = dynamo.N(sum.Total.Amount)
	item.str("currency", sum.Total.Currency)
	item["refunded_amount"] = dynamo.N(sum.Refunded.Amount)
	item.str("refunded_currency", sum.Refunded.Currency)
	item.str("carrier", sum.Carrier)
	item.str("tracking_number", sum.TrackingNumber)
	item.str("end_code", string(sum.EndReason.Code))
	item.str("end_reason", sum.EndReason.Reason)
	if len(sum.Lines) > 0 {
		item["lines"] = linesValue(sum.Lines)
	}
	item["updated_at"] = dynamo.N(micros(sum.UpdatedAt))
	item[attrEntries] = dynamo.N(int64(sum.Entries))
	item[dynamo.AttrGSI2PK] = dynamo.S(shardPK(g, sum.OrderID))
	item[dynamo.AttrGSI2SK] = dynamo.S(sum.OrderID)
	if sum.Placed {
		item["placed_at"] = dynamo.N(micros(sum.PlacedAt))
		item[dynamo.AttrGSI1PK] = dynamo.S(customerPK(g, sum.CustomerID))
		item[dynamo.AttrGSI1SK] = dynamo.S(listSK(sum.PlacedAt, sum.OrderID))
	}
	return item
}

// attrEntries is the summary's entry count, which is also its version.
const attrEntries = "entries"

func decodeSummary(item map[string]types.AttributeValue) (orderhistory.Summary, error) {
	r := reader{item: item}
	sum := orderhistory.Summary{OrderID: r.str("order_id"), CustomerID: r.str("customer_id"), Placed: r.bool("placed"),
		Status: orderhistory.Status(r.str("status")), Lines: r.lines("lines"),
		Total:    orderhistory.Money{Amount: r.num("total_amount"), Currency: r.str("currency")},
		Refunded: orderhistory.Money{Amount: r.num("refunded_amount"), Currency: r.str("refunded_currency")},
		Carrier:  r.str("carrier"), TrackingNumber: r.str("tracking_number"),
		EndReason: orderhistory.EndReason{Code: orderhistory.EndCode(r.str("end_code")), Reason: r.str("end_reason")},
		UpdatedAt: fromMicros(r.num("updated_at"))}
	if sum.Placed {
		sum.PlacedAt = fromMicros(r.num("placed_at"))
	}
	n := r.num(attrEntries)
	if r.err == nil && (n < 0 || n > math.MaxInt32) {
		r.err = fmt.Errorf("entry count %d is out of range", n)
	}
	sum.Entries = int(n)
	if r.err == nil && sum.OrderID == "" {
		r.err = errors.New("no order ID")
	}
	if r.err != nil {
		return orderhistory.Summary{}, stored("summary of "+sum.OrderID, r.err)
	}
	return sum, nil
}
