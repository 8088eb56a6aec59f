package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/inventory"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
)

// statusRejected marks the decision item of an order rejected for lack
// of stock.
const statusRejected = "rejected"

const activePK = "RES#ACTIVE"

func resKey(orderID string) map[string]types.AttributeValue { return dynamo.Key("RES#"+orderID, "RES") }

// decision is an order's stored decision: a reservation, or a rejection.
type decision struct {
	res      inventory.Reservation
	shortage *inventory.ShortageError
}

func (s *Store) readDecision(ctx context.Context, orderID string) (*decision, error) {
	item, err := s.get(ctx, resKey(orderID))
	if err != nil || item == nil {
		return nil, err
	}
	status := dynamo.GetS(item, "status")
	if status == statusRejected {
		short, err := decodeShortage(orderID, item)
		if err != nil {
			return nil, err
		}
		return &decision{shortage: short}, nil
	}
	nums := map[string]int64{}
	for _, name := range []string{"expires_at", "created_at", "updated_at", "version"} {
		if nums[name], err = dynamo.GetN(item, name); err != nil {
			return nil, stored("reservation", err)
		}
	}
	var allocs []inventory.Allocation
	if l, ok := item["allocations"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return nil, stored("allocation", errors.New("not a map"))
			}
			q, err := dynamo.GetN(m.Value, "quantity")
			if err != nil {
				return nil, stored("allocation", err)
			}
			allocs = append(allocs, inventory.Allocation{SKU: dynamo.GetS(m.Value, "sku"), Warehouse: dynamo.GetS(m.Value, "warehouse"), Quantity: q})
		}
	}
	r, err := inventory.RestoreReservation(orderID, inventory.ReservationStatus(status), dynamo.GetS(item, "reason"), allocs,
		fromMicros(nums["expires_at"]), fromMicros(nums["created_at"]), fromMicros(nums["updated_at"]), nums["version"])
	if err != nil {
		return nil, stored("reservation", err)
	}
	return &decision{res: r}, nil
}

func decodeShortage(orderID string, item map[string]types.AttributeValue) (*inventory.ShortageError, error) {
	out := &inventory.ShortageError{OrderID: orderID}
	l, _ := item["shortage"].(*types.AttributeValueMemberL)
	if l == nil {
		return nil, stored("rejection", errors.New("no shortage"))
	}
	for _, v := range l.Value {
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			return nil, stored("shortage", errors.New("not a map"))
		}
		req, err := dynamo.GetN(m.Value, "requested")
		if err != nil {
			return nil, stored("shortage", err)
		}
		avail, err := dynamo.GetN(m.Value, "available")
		if err != nil {
			return nil, stored("shortage", err)
		}
		out.Lines = append(out.Lines, inventory.Shortage{SKU: dynamo.GetS(m.Value, "sku"), Requested: req, Available: avail})
	}
	return out, nil
}

// reservationItem is the stored form of r at version.
func reservationItem(r *inventory.Reservation, version int64) map[string]types.AttributeValue {
	allocs := make([]types.AttributeValue, 0, len(r.Allocations()))
	for _, a := range r.Allocations() {
		allocs = append(allocs, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"sku": dynamo.S(a.SKU), "warehouse": dynamo.S(a.Warehouse), "quantity": dynamo.N(a.Quantity),
		}})
	}
	item := resKey(r.OrderID())
	item["order_id"] = dynamo.S(r.OrderID())
	item["status"] = dynamo.S(string(r.Status()))
	item["reason"] = dynamo.S(r.Reason())
	item["allocations"] = &types.AttributeValueMemberL{Value: allocs}
	item["expires_at"] = dynamo.N(micros(r.ExpiresAt()))
	item["created_at"] = dynamo.N(micros(r.CreatedAt()))
	item["updated_at"] = dynamo.N(micros(r.UpdatedAt()))
	item["version"] = dynamo.N(version)
	if r.Status() == inventory.StatusActive {
		item[dynamo.AttrGSI2PK] = dynamo.S(activePK)
		item[dynamo.AttrGSI2SK] = dynamo.S(pad(micros(r.ExpiresAt())) + "#" + r.OrderID())
	}
	return item
}

// Reserve implements app.Repository.
func (s *Store) Reserve(ctx context.Context, req inventory.ReservationRequest) (inventory.Reservation, bool, error) {
	var (
		out      inventory.Reservation
		created  bool
		shortage *inventory.ShortageError
	)
	err := optimistic(ctx, "reserve "+req.OrderID, func() error {
		created, shortage = false, nil
		d, err := s.readDecision(ctx, req.OrderID)
		if err != nil {
			return err
		}
		if d != nil {
			out, shortage = d.res, d.shortage
			return nil
		}
		out, shortage, err = s.decide(ctx, req)
		created = err == nil && shortage == nil
		return err
	})
	switch {
	case err != nil:
		return inventory.Reservation{}, false, err
	case shortage != nil:
		return inventory.Reservation{}, false, shortage
	}
	return out, created, nil
}

// stockUpdate collects the changes of one SKU item in a transaction.
type stockUpdate struct {
	sku    string
	sets   []string
	conds  []string
	names  map[string]string
	values map[string]types.AttributeValue
	n      int
}

func newStockUpdate(sku string, at time.Time) *stockUpdate {
	return &stockUpdate{sku: sku,
		sets:   []string{"#ver = #ver + :one", "#upd = :at"},
		names:  map[string]string{"#ver": "version", "#upd": "updated_at", "#lv": "levels"},
		values: map[string]types.AttributeValue{":one": dynamo.N(1), ":at": dynamo.N(micros(at))},
	}
}

// level changes one warehouse's level by the deltas, with the condition
// cond over its attributes (#W stands for the level's path).
func (u *stockUpdate) level(warehouse string, onHand, reserved int64, cond string, condValue int64) {
	i := itoa(u.n)
	u.n++
	w, path := "#w"+i, "#lv.#w"+i
	u.names[w] = warehouse
	use := func(alias, name string) { u.names[alias] = name }
	if onHand != 0 {
		use("#oh", "on_hand")
		u.sets = append(u.sets, fmt.Sprintf("%s.#oh = %s.#oh + :oh%s", path, path, i))
		u.values[":oh"+i] = dynamo.N(onHand)
	}
	if reserved != 0 {
		use("#rs", "reserved")
		u.sets = append(u.sets, fmt.Sprintf("%s.#rs = %s.#rs + :rs%s", path, path, i))
		u.values[":rs"+i] = dynamo.N(reserved)
	}
	if d := onHand - reserved; d != 0 {
		use("#av", "available")
		u.sets = append(u.sets, fmt.Sprintf("%s.#av = %s.#av + :av%s", path, path, i))
		u.values[":av"+i] = dynamo.N(d)
	}
	if cond != "" {
		for alias, name := range map[string]string{"#oh": "on_hand", "#rs": "reserved", "#av": "available"} {
			if strings.Contains(cond, alias) {
				use(alias, name)
			}
		}
		u.conds = append(u.conds, strings.ReplaceAll(cond, "#W", path)+" :c"+i)
		u.values[":c"+i] = dynamo.N(condValue)
	}
}

func (u *stockUpdate) update(onFail error) types.Update {
	up := types.Update{
		Key:                       stockKey(u.sku),
		UpdateExpression:          aws.String("SET " + strings.Join(u.sets, ", ")),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: u.values,
	}
	conds := append([]string{"attribute_exists(pk)"}, u.conds...)
	up.ConditionExpression = aws.String(strings.Join(conds, " AND "))
	return up
}

// decide reads the stock of every line and writes either the
// reservation (all lines taken, conditionally) or the rejection.
func (s *Store) decide(ctx context.Context, req inventory.ReservationRequest) (inventory.Reservation, *inventory.ShortageError, error) {
	var (
		allocs []inventory.Allocation
		short  []inventory.Shortage
		lows   []inventory.Event
		items  = map[string]*stockItem{}
	)
	for _, line := range req.Lines { // sorted by SKU
		it, err := s.readStock(ctx, line.SKU)
		if err != nil {
			return inventory.Reservation{}, nil, err
		}
		if it == nil {
			short = append(short, inventory.Shortage{SKU: line.SKU, Requested: line.Quantity})
			continue
		}
		items[line.SKU] = it
		levels, err := it.domainLevels()
		if err != nil {
			return inventory.Reservation{}, nil, err
		}
		before := it.available()
		plan, missing := inventory.Allocate(line, levels)
		if missing > 0 {
			short = append(short, inventory.Shortage{SKU: line.SKU, Requested: line.Quantity, Available: before})
			continue
		}
		allocs = append(allocs, plan...)
		if low, ok := inventory.LowStockCrossed(line.SKU, it.threshold, before, before-line.Quantity, req.At); ok {
			lows = append(lows, low)
		}
	}
	tx := dynamo.NewTx(s.table)
	if len(short) > 0 {
		shortage := &inventory.ShortageError{OrderID: req.OrderID, Lines: short}
		lines := make([]types.AttributeValue, len(short))
		for i, l := range short {
			lines[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"sku": dynamo.S(l.SKU), "requested": dynamo.N(l.Requested), "available": dynamo.N(l.Available),
			}}
		}
		item := resKey(req.OrderID)
		item["order_id"] = dynamo.S(req.OrderID)
		item["status"] = dynamo.S(statusRejected)
		item["shortage"] = &types.AttributeValueMemberL{Value: lines}
		item["rejected_at"] = dynamo.N(micros(req.At))
		tx.Put(types.Put{Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}, errDecided)
		if err := s.emit(ctx, tx, inventory.ReservationRejected{OrderID: req.OrderID, Short: short, OccurredAt: req.At}); err != nil {
			return inventory.Reservation{}, nil, err
		}
		if err := tx.Commit(ctx, s.api); err != nil {
			return inventory.Reservation{}, nil, s.txErr("reject "+req.OrderID, err)
		}
		return inventory.Reservation{}, shortage, nil
	}

	r := inventory.NewReservation(req, allocs)
	tx.Put(types.Put{Item: reservationItem(&r, 1), ConditionExpression: aws.String("attribute_not_exists(pk)")}, errDecided)
	updates := map[string]*stockUpdate{}
	var order []string
	for _, a := range allocs {
		u := updates[a.SKU]
		if u == nil {
			u = newStockUpdate(a.SKU, req.At)
			if it := items[a.SKU]; it.threshold > 0 {
				// The LowStock event needs the exact level before.
				u.conds = append(u.conds, "#ver = :readver")
				u.values[":readver"] = dynamo.N(it.version)
			}
			updates[a.SKU] = u
			order = append(order, a.SKU)
		}
		// The guard against overselling.
		u.level(a.Warehouse, 0, a.Quantity, "#W.#av >=", a.Quantity)
	}
	for _, sku := range order {
		tx.Update(updates[sku].update(nil), errStockChanged)
	}
	if err := s.emit(ctx, tx, append(r.Events(), lows...)...); err != nil {
		return inventory.Reservation{}, nil, err
	}
	if err := tx.Commit(ctx, s.api); err != nil {
		return inventory.Reservation{}, nil, s.txErr("reserve "+req.OrderID, err)
	}
	r.Stored()
	return r, nil, nil
}

// txErr keeps the race errors (retried by optimistic) and wraps the
// others.
func (s *Store) txErr(op string, err error) error {
	for _, race := range []error{errDecided, errResChanged, errStockChanged} {
		if errors.Is(err, race) {
			return race
		}
	}
	return fmt.Errorf("inventory dynamostore: %s: %w", op, err)
}

// Reservation implements app.Repository.
func (s *Store) Reservation(ctx context.Context, orderID string) (inventory.Reservation, error) {
	d, err := s.readDecision(ctx, orderID)
	if err != nil {
		return inventory.Reservation{}, err
	}
	if d == nil || d.shortage != nil {
		return inventory.Reservation{}, fmt.Errorf("reservation of %s: %w", orderID, inventory.ErrNotFound)
	}
	return d.res, nil
}

// UpdateReservation implements app.Repository.
func (s *Store) UpdateReservation(ctx context.Context, orderID string, fn func(*inventory.Reservation) error) (inventory.Reservation, error) {
	var out inventory.Reservation
	err := optimistic(ctx, "update reservation "+orderID, func() error {
		d, err := s.readDecision(ctx, orderID)
		if err != nil {
			return err
		}
		if d == nil || d.shortage != nil {
			return fmt.Errorf("reservation of %s: %w", orderID, inventory.ErrNotFound)
		}
		r := d.res
		if err := fn(&r); err != nil {
			return err
		}
		if !r.Changed() {
			out = r
			return nil
		}
		tx := dynamo.NewTx(s.table)
		tx.Put(types.Put{Item: reservationItem(&r, r.Version()+1), ConditionExpression: aws.String("version = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": dynamo.N(r.Version())}}, errResChanged)
		updates := map[string]*stockUpdate{}
		var order []string
		for _, dl := range r.Deltas() {
			u := updates[dl.SKU]
			if u == nil {
				u = newStockUpdate(dl.SKU, r.UpdatedAt())
				updates[dl.SKU] = u
				order = append(order, dl.SKU)
			}
			// Reserved never goes negative.
			u.level(dl.Warehouse, dl.OnHand, dl.Reserved, "#W.#rs >=", max(-dl.Reserved, 0))
		}
		for _, sku := range order {
			tx.Update(updates[sku].update(nil), errLevel)
		}
		if err := s.emit(ctx, tx, r.Events()...); err != nil {
			return err
		}
		if err := tx.Commit(ctx, s.api); err != nil {
			if errors.Is(err, errResChanged) {
				return errResChanged
			}
			return fmt.Errorf("inventory dynamostore: update reservation %s: %w", orderID, err)
		}
		r.Stored()
		out = r
		return nil
	})
	return out, err
}

// ExpiredReservations implements app.Repository from gsi2 (eventually
// consistent; UpdateReservation rechecks each).
func (s *Store) ExpiredReservations(ctx context.Context, now time.Time, limit int) ([]string, error) {
	out, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(dynamo.GSI2),
		KeyConditionExpression:    aws.String("gsi2pk = :pk AND gsi2sk < :bound"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S(activePK), ":bound": dynamo.S(pad(micros(now) + 1))},
		Limit:                     aws.Int32(int32(min(max(limit, 1), 1000))), // #nosec G115 -- bounded
	})
	if err != nil {
		return nil, dbErr("find expired reservations", err)
	}
	ids := make([]string, 0, len(out.Items))
	for _, item := range out.Items {
		ids = append(ids, dynamo.GetS(item, "order_id"))
	}
	return ids, nil
}
