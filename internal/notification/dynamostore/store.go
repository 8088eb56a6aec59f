// Package dynamostore keeps the notification service's recipients and
// messages in one DynamoDB table (single-table design, the platform's
// shared layout), records consumed events in the platform's DynamoDB inbox
// in the same TransactWriteItems as what they produce, and writes the
// events of every message change to the platform's DynamoDB outbox in the
// same TransactWriteItems as the change. It is the DynamoDB twin of
// sqlstore: the same app.Repository semantics, checked by the same
// contract suite.
//
// Access patterns and keys:
//
//	recipient of an order      pk "RECIPIENT#<order>", sk "RECIPIENT":
//	                           customer_id, email, name, created_at (µs)
//	message by ID              pk "MSG#<id>", sk "MSG": order, customer,
//	                           kind, ref, recipient, rendered content,
//	                           status, attempts, times (µs; the unset ones
//	                           absent), last_error, version and the
//	                           correlation ID of the event it came from
//	a customer's messages,     gsi1: gsi1pk "CUSTOMER#<customer>",
//	newest first               gsi1sk "<20-digit created µs>#<id>"
//	pending messages by due    gsi2 (sparse, only while pending):
//	time                       gsi2pk "MSG#PENDING",
//	                           gsi2sk "<20-digit next attempt µs>#<id>"
//	consumed events            the platform's INBOX# items
//	outbox                     the platform's OUTBOX# items
//
// Accept is one TransactWriteItems: the inbox mark (attribute_not_exists,
// so a consumed event cancels it with dynamo.ErrDuplicate: Duplicate,
// nothing written), the recipient and the message, both put with
// attribute_not_exists(pk). A transaction cannot skip one of its items,
// so when the recipient or the message is stored already the cancellation
// names it, and Accept sends the transaction again without it (the first
// recipient of an order is kept; a stored message is kept as it is:
// Existing). Items are never deleted, so this takes at most three rounds.
//
// A message is identified by its ID alone (it derives from the order, the
// kind and the reference), so the ID's item is also the uniqueness guard
// of the notice. Changes are optimistic: a message is put conditional on
// the version read (version = :v), with its events in the same
// transaction, and an update that loses runs its function again on the
// new state. A change without events (a claim, a retry) is a single
// conditional PutItem rather than a transaction. A message keeps the
// correlation ID of the event it was rendered from, and its MessageSent or
// MessageFailed carries it, however much later the dispatcher sends it.
//
// Claim queries gsi2 for the pending messages due at now, the longest due
// first. Indexes are eventually consistent, so an entry may show a state
// that is gone: every claim is a put conditional on the version the entry
// showed, and an entry that lost (to another sender, or to a change the
// index has not caught up with) is skipped. Claim reads on past skipped
// entries, up to claimHorizon times its limit, so that concurrent
// dispatchers racing for the head of the queue still fill their batches.
// Messages reads gsi1, so a message shows in listings shortly after it is
// stored. All the pending messages share one gsi2 partition: fine for the
// volume of a shop's notifications (a message is pending for seconds);
// spread the partition key over shards if it ever becomes hot.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/notification/eventsout"
	"github.com/agoracommerce/agora/internal/platform/correlation"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
	"github.com/agoracommerce/agora/internal/platform/events"
	"github.com/agoracommerce/agora/internal/platform/fault"
)

// maxAttempts bounds how often Update runs its function when concurrent
// changes keep getting in first.
const maxAttempts = 16

// acceptRounds bounds the transactions of one Accept: every round after
// the first drops an item found stored (the recipient, the message).
const acceptRounds = 3

// Errors registered for transaction items.
var (
	errRecipientKnown = errors.New("recipient stored already")
	errMessageStored  = errors.New("message stored already")
	errVersionChanged = errors.New("message changed concurrently")
)

// Store is the DynamoDB Repository of notification. Safe for concurrent
// use.
type Store struct {
	api     dynamo.API
	table   string
	outbox  *dynamo.Outbox
	inbox   *dynamo.Inbox
	encoder *eventsout.Encoder
}

var _ app.Repository = (*Store)(nil)

// New returns the Store over table; events go to ob (an outbox on the
// same table) and consumed events are recorded in in (the inbox of the
// same table), encoded with codec. The outbox's table is checked; the
// inbox does not tell its table, so keeping it on the same one is up to
// the wiring (a transaction may span tables, so its mark stays atomic with
// the messages either way).
func New(client dynamo.API, table string, ob *dynamo.Outbox, in *dynamo.Inbox, codec *events.Codec) (*Store, error) {
	if client == nil || table == "" || ob == nil || in == nil {
		return nil, errors.New("notification dynamostore: a client, a table, an outbox and an inbox are required")
	}
	if ob.Table() != table {
		return nil, fmt.Errorf("notification dynamostore: the outbox is on table %s, not %s", ob.Table(), table)
	}
	if in.Table() != table {
		return nil, fmt.Errorf("notification dynamostore: the inbox is on table %s, not %s", in.Table(), table)
	}
	enc, err := eventsout.NewEncoder(codec)
	if err != nil {
		return nil, err
	}
	return &Store{api: client, table: table, outbox: ob, inbox: in, encoder: enc}, nil
}

func dbErr(op string, err error) error {
	return dynamo.Classify(fmt.Errorf("notification dynamostore: %s: %w", op, err))
}

func stored(what string, err error) error {
	return fault.Permanent(fmt.Errorf("notification dynamostore: stored %s: %w", what, err))
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func pad(v int64) string { return fmt.Sprintf("%020d", max(v, 0)) }

// Key prefixes of the items and of the index partitions.
const (
	recipientPrefix = "RECIPIENT#"
	messagePrefix   = "MSG#"
	customerPrefix  = "CUSTOMER#"
	pendingPK       = "MSG#PENDING"
)

func recipientKey(orderID string) map[string]types.AttributeValue {
	return dynamo.Key(recipientPrefix+orderID, "RECIPIENT")
}

func messageKey(id string) map[string]types.AttributeValue {
	return dynamo.Key(messagePrefix+id, "MSG")
}

// listKey is a message's gsi1 sort key: newest first when read backwards,
// the greater ID first within one instant.
func listKey(createdAt time.Time, id string) string { return pad(micros(createdAt)) + "#" + id }

// get reads one item strongly consistent; nil when absent.
func (s *Store) get(ctx context.Context, what string, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, dbErr("read "+what, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// emit adds evs to tx's outbox items.
func (s *Store) emit(ctx context.Context, tx *dynamo.Tx, evs ...notification.Event) error {
	if len(evs) == 0 {
		return nil
	}
	enc, err := s.encoder.Encode(ctx, evs...)
	if err != nil {
		return fmt.Errorf("notification dynamostore: %w", err)
	}
	return s.outbox.Add(ctx, tx, enc...)
}

// recipientItem is the stored form of r, learned at learned.
func recipientItem(r notification.Recipient, learned time.Time) map[string]types.AttributeValue {
	item := recipientKey(r.OrderID)
	item["order_id"] = dynamo.S(r.OrderID)
	item["customer_id"] = dynamo.S(r.CustomerID)
	item["email"] = dynamo.S(r.Email)
	item["name"] = dynamo.S(r.Name)
	item["created_at"] = dynamo.N(micros(learned))
	return item
}

// Recipient implements app.Repository.
func (s *Store) Recipient(ctx context.Context, orderID string) (notification.Recipient, error) {
	item, err := s.get(ctx, "recipient", recipientKey(orderID))
	if err != nil {
		return notification.Recipient{}, err
	}
	if item == nil {
		return notification.Recipient{}, fmt.Errorf("order %s: %w", orderID, notification.ErrUnknownRecipient)
	}
	r := notification.Recipient{OrderID: orderID, CustomerID: dynamo.GetS(item, "customer_id"), Email: dynamo.GetS(item, "email"),
		Name: dynamo.GetS(item, "name")}
	if err := r.Validate(); err != nil {
		return notification.Recipient{}, stored("recipient of "+orderID, err)
	}
	return r, nil
}

// record is a stored message with what is kept beside it.
type record struct {
	msg notification.Message
	// correlation is the correlation ID of the event the message was
	// rendered from ("" when it had none).
	correlation string
}

// messageItem is the stored form of the message state snap at version,
// rendered in the flow correlationID.
func messageItem(snap notification.Snapshot, version int64, correlationID string) map[string]types.AttributeValue {
	item := messageKey(snap.ID)
	item["id"] = dynamo.S(snap.ID)
	item["order_id"] = dynamo.S(snap.OrderID)
	item["customer_id"] = dynamo.S(snap.CustomerID)
	item["kind"] = dynamo.S(string(snap.Kind))
	item["ref"] = dynamo.S(snap.Ref)
	item["recipient"] = dynamo.S(snap.To)
	item["subject"] = dynamo.S(snap.Content.Subject)
	item["body_text"] = dynamo.S(snap.Content.Text)
	item["body_html"] = dynamo.S(snap.Content.HTML)
	item["status"] = dynamo.S(string(snap.Status))
	item["attempts"] = dynamo.N(int64(snap.Attempts))
	item["last_error"] = dynamo.S(snap.LastError)
	item["created_at"] = dynamo.N(micros(snap.CreatedAt))
	item["updated_at"] = dynamo.N(micros(snap.UpdatedAt))
	for name, t := range map[string]time.Time{"next_attempt_at": snap.NextAttemptAt, "sent_at": snap.SentAt, "failed_at": snap.FailedAt} {
		if !t.IsZero() {
			item[name] = dynamo.N(micros(t))
		}
	}
	item["version"] = dynamo.N(version)
	item["correlation_id"] = dynamo.S(correlationID)
	item[dynamo.AttrGSI1PK] = dynamo.S(customerPrefix + snap.CustomerID)
	item[dynamo.AttrGSI1SK] = dynamo.S(listKey(snap.CreatedAt, snap.ID))
	if snap.Status == notification.StatusPending {
		item[dynamo.AttrGSI2PK] = dynamo.S(pendingPK)
		item[dynamo.AttrGSI2SK] = dynamo.S(pad(micros(snap.NextAttemptAt)) + "#" + snap.ID)
	}
	return item
}

func decodeMessage(item map[string]types.AttributeValue) (record, error) {
	id := dynamo.GetS(item, "id")
	snap := notification.Snapshot{
		ID: id, OrderID: dynamo.GetS(item, "order_id"), CustomerID: dynamo.GetS(item, "customer_id"),
		Kind: notification.Kind(dynamo.GetS(item, "kind")), Ref: dynamo.GetS(item, "ref"), To: dynamo.GetS(item, "recipient"),
		Content: notification.Content{Subject: dynamo.GetS(item, "subject"), Text: dynamo.GetS(item, "body_text"),
			HTML: dynamo.GetS(item, "body_html")},
		Status: notification.Status(dynamo.GetS(item, "status")), LastError: dynamo.GetS(item, "last_error"),
	}
	nums := map[string]int64{}
	var err error
	for _, name := range []string{"attempts", "version", "created_at", "updated_at"} {
		if nums[name], err = dynamo.GetN(item, name); err != nil {
			return record{}, stored("message "+id, err)
		}
	}
	times := map[string]*time.Time{"next_attempt_at": &snap.NextAttemptAt, "sent_at": &snap.SentAt, "failed_at": &snap.FailedAt}
	for name, t := range times {
		if _, ok := item[name]; !ok {
			continue
		}
		v, err := dynamo.GetN(item, name)
		if err != nil {
			return record{}, stored("message "+id, err)
		}
		*t = fromMicros(v)
	}
	if nums["attempts"] < 0 || nums["attempts"] > math.MaxInt32 {
		return record{}, stored("message "+id, fmt.Errorf("attempts %d", nums["attempts"]))
	}
	snap.Attempts, snap.Version = int(nums["attempts"]), nums["version"]
	snap.CreatedAt, snap.UpdatedAt = fromMicros(nums["created_at"]), fromMicros(nums["updated_at"])
	m, err := notification.RestoreMessage(snap)
	if err != nil {
		return record{}, stored("message "+id, err)
	}
	return record{msg: m, correlation: dynamo.GetS(item, "correlation_id")}, nil
}

// read returns the message with id, or notification.ErrNotFound.
func (s *Store) read(ctx context.Context, id string) (record, error) {
	item, err := s.get(ctx, "message", messageKey(id))
	if err != nil {
		return record{}, err
	}
	if item == nil {
		return record{}, fmt.Errorf("message %s: %w", id, notification.ErrNotFound)
	}
	return decodeMessage(item)
}

// Message implements app.Repository.
func (s *Store) Message(ctx context.Context, id string) (notification.Message, error) {
	rec, err := s.read(ctx, id)
	if err != nil {
		return notification.Message{}, err
	}
	return rec.msg, nil
}

// Accept implements app.Repository; see the package doc for its rounds.
func (s *Store) Accept(ctx context.Context, ev app.EventRef, r *notification.Recipient, m *notification.Message) (app.Outcome, error) {
	if ev.Group == "" || ev.ID == "" {
		return 0, errors.New("notification dynamostore: accept an event without its group and ID")
	}
	if m != nil && m.Version() != 0 {
		return 0, fmt.Errorf("notification dynamostore: accept a stored message %s: %w", m.ID(), notification.ErrInvalid)
	}
	if r != nil {
		if err := r.Validate(); err != nil {
			return 0, fmt.Errorf("notification dynamostore: accept the recipient of %s: %w", r.OrderID, err)
		}
	}
	putRecipient, putMessage := r != nil, m != nil
	for range acceptRounds {
		tx := dynamo.NewTx(s.table)
		if err := s.inbox.Mark(tx, ev.Group, ev.ID); err != nil {
			return 0, err
		}
		if putRecipient {
			learned := time.Now()
			if m != nil {
				learned = m.CreatedAt()
			}
			tx.Put(types.Put{Item: recipientItem(*r, learned), ConditionExpression: aws.String("attribute_not_exists(pk)")}, errRecipientKnown)
		}
		if putMessage {
			tx.Put(types.Put{Item: messageItem(m.Snapshot(), 1, correlation.ID(ctx)), ConditionExpression: aws.String("attribute_not_exists(pk)")},
				errMessageStored)
			if err := s.emit(ctx, tx, m.Events()...); err != nil {
				return 0, err
			}
		}
		err := tx.Commit(ctx, s.api)
		switch {
		case err == nil:
			if putMessage {
				m.Stored()
				return app.Created, nil
			}
			return app.Existing, nil
		case errors.Is(err, dynamo.ErrDuplicate):
			return app.Duplicate, nil
		case errors.Is(err, errRecipientKnown), errors.Is(err, errMessageStored):
			// Send it again without what is stored already.
			putRecipient = putRecipient && !errors.Is(err, errRecipientKnown)
			putMessage = putMessage && !errors.Is(err, errMessageStored)
		default:
			return 0, fmt.Errorf("notification dynamostore: accept event %s of %s: %w", ev.ID, ev.Group, err)
		}
	}
	// Unreachable while items are never deleted: every round dropped one.
	return 0, fault.Retryable(fmt.Errorf("notification dynamostore: accept event %s of %s: %w", ev.ID, ev.Group, notification.ErrConflict))
}

// save stores the changed message m at the version it was read, with its
// events in the flow it was rendered in (correlationID); false when a
// concurrent change stored first.
func (s *Store) save(ctx context.Context, m *notification.Message, correlationID string) (bool, error) {
	snap := m.Snapshot()
	item := messageItem(snap, snap.Version+1, correlationID)
	cond := aws.String("version = :v")
	values := map[string]types.AttributeValue{":v": dynamo.N(snap.Version)}
	evs := m.Events()
	if len(evs) == 0 {
		_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item, ConditionExpression: cond,
			ExpressionAttributeValues: values})
		var failed *types.ConditionalCheckFailedException
		switch {
		case errors.As(err, &failed):
			return false, nil
		case err != nil:
			return false, dbErr("put message "+snap.ID, err)
		}
		return true, nil
	}
	tx := dynamo.NewTx(s.table)
	tx.Put(types.Put{Item: item, ConditionExpression: cond, ExpressionAttributeValues: values}, errVersionChanged)
	// The message's events carry the correlation ID of the event it was
	// rendered from, not the dispatcher's.
	if correlationID != "" {
		ctx = correlation.WithID(ctx, correlationID)
	}
	if err := s.emit(ctx, tx, evs...); err != nil {
		return false, err
	}
	err := tx.Commit(ctx, s.api)
	switch {
	case errors.Is(err, errVersionChanged):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("notification dynamostore: store message %s: %w", snap.ID, err)
	}
	return true, nil
}

// Update implements app.Repository: read, apply fn, put conditional on
// the version read; fn runs again on the fresh message when a concurrent
// change got in first.
func (s *Store) Update(ctx context.Context, id string, fn func(*notification.Message) error) (notification.Message, error) {
	for attempt := range maxAttempts {
		if err := dynamo.Backoff(ctx, attempt); err != nil {
			return notification.Message{}, err
		}
		rec, err := s.read(ctx, id)
		if err != nil {
			return notification.Message{}, err
		}
		m := rec.msg
		if err := fn(&m); err != nil {
			return notification.Message{}, err
		}
		if !m.Changed() {
			return m, nil
		}
		ok, err := s.save(ctx, &m, rec.correlation)
		if err != nil {
			return notification.Message{}, err
		}
		if !ok {
			continue
		}
		m.Stored()
		return m, nil
	}
	return notification.Message{}, fault.Retryable(fmt.Errorf("update message %s: %w", id, notification.ErrConflict))
}
