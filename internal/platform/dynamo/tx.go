package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/agoracommerce/agora/internal/platform/fault"
)

// MaxTxItems is the most items one TransactWriteItems takes.
const MaxTxItems = 100

// Errors of the transaction builder and of Classify.
var (
	// ErrTooManyItems: a transaction was built with more than MaxTxItems
	// items. Permanent: the unit of work is too large for one DynamoDB
	// transaction.
	ErrTooManyItems = errors.New("dynamo: transaction exceeds 100 items")
	// ErrConditionFailed: a condition expression did not hold. Errors
	// wrapping it also wrap the error registered for the failed item.
	ErrConditionFailed = errors.New("dynamo: condition failed")
	// ErrConflict: another transaction was changing the same items.
	// Retryable.
	ErrConflict = errors.New("dynamo: transaction conflict")
)

// ConditionFailedError is a transaction cancelled because the conditions
// of one or more of its items did not hold. errors.Is matches
// ErrConditionFailed and the error registered for every failed item.
type ConditionFailedError struct {
	// Failed are the indexes of the failed items, ascending.
	Failed []int
	// Items holds the failed items as they were, when the builder asked
	// for them (ReturnValuesOnConditionCheckFailure ALL_OLD).
	Items map[int]map[string]types.AttributeValue
	errs  []error
}

func (e *ConditionFailedError) Error() string {
	return fmt.Sprintf("dynamo: transaction cancelled: condition of item(s) %v failed: %v", e.Failed, errors.Join(e.errs...))
}

// Unwrap returns ErrConditionFailed and the items' errors.
func (e *ConditionFailedError) Unwrap() []error {
	return append([]error{ErrConditionFailed}, e.errs...)
}

// FailedAt reports whether the item at index failed its condition.
func (e *ConditionFailedError) FailedAt(index int) bool {
	for _, i := range e.Failed {
		if i == index {
			return true
		}
	}
	return false
}

// Tx collects the items of one TransactWriteItems. The zero value is
// empty; items without a table name get the Tx's Table. Not safe for
// concurrent use.
type Tx struct {
	Table  string
	items  []types.TransactWriteItem
	onFail []error
}

// NewTx returns an empty transaction over table.
func NewTx(table string) *Tx { return &Tx{Table: table} }

// Len is the number of items so far.
func (t *Tx) Len() int { return len(t.items) }

func (t *Tx) add(item types.TransactWriteItem, onFail error) int {
	t.items = append(t.items, item)
	t.onFail = append(t.onFail, onFail)
	return len(t.items) - 1
}

func (t *Tx) table(name *string) *string {
	if name == nil || *name == "" {
		return aws.String(t.Table)
	}
	return name
}

// Put adds a put; onFail is the error a failed condition of it stands for
// (nil: only ErrConditionFailed). It returns the item's index.
func (t *Tx) Put(p types.Put, onFail error) int {
	p.TableName = t.table(p.TableName)
	return t.add(types.TransactWriteItem{Put: &p}, onFail)
}

// Update adds an update; see Put.
func (t *Tx) Update(u types.Update, onFail error) int {
	u.TableName = t.table(u.TableName)
	return t.add(types.TransactWriteItem{Update: &u}, onFail)
}

// Delete adds a delete; see Put.
func (t *Tx) Delete(d types.Delete, onFail error) int {
	d.TableName = t.table(d.TableName)
	return t.add(types.TransactWriteItem{Delete: &d}, onFail)
}

// Check adds a condition check; see Put.
func (t *Tx) Check(c types.ConditionCheck, onFail error) int {
	c.TableName = t.table(c.TableName)
	return t.add(types.TransactWriteItem{ConditionCheck: &c}, onFail)
}

// commitAttempts bounds the retries of a transaction cancelled by a
// conflict or throttling: a cancelled transaction changed nothing, so it
// is safe to send again.
const commitAttempts = 4

// Commit writes every item or none. A transaction with no items does
// nothing. Errors: ErrTooManyItems (permanent), *ConditionFailedError
// (permanent; errors.Is matches the failed items' errors), ErrConflict
// and throttling after retries (retryable), and Classify's.
func (t *Tx) Commit(ctx context.Context, api API) error {
	switch {
	case len(t.items) == 0:
		return nil
	case len(t.items) > MaxTxItems:
		return fault.Permanent(fmt.Errorf("%w: %d items", ErrTooManyItems, len(t.items)))
	}
	// One token for every attempt: DynamoDB applies a transaction sent
	// again (an SDK retry after a lost answer) only once.
	in := &dynamodb.TransactWriteItemsInput{TransactItems: t.items, ClientRequestToken: aws.String(uuid.NewString())}
	var err error
	for attempt := range commitAttempts {
		if attempt > 0 {
			if werr := sleep(ctx, backoff(attempt)); werr != nil {
				return werr
			}
		}
		_, err = api.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			return Classify(fmt.Errorf("dynamo: transact %d items: %w", len(t.items), err))
		}
		cfe := &ConditionFailedError{Items: map[int]map[string]types.AttributeValue{}}
		transient := false
		for i, r := range cancelled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				cfe.Failed = append(cfe.Failed, i)
				if i < len(t.onFail) && t.onFail[i] != nil {
					cfe.errs = append(cfe.errs, t.onFail[i])
				}
				if r.Item != nil {
					cfe.Items[i] = r.Item
				}
			case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded", "InternalServerError":
				transient = true
			case "", "None":
			default:
				return fault.Permanent(fmt.Errorf("dynamo: transaction cancelled: item %d: %s: %s", i, aws.ToString(r.Code), aws.ToString(r.Message)))
			}
		}
		if len(cfe.Failed) > 0 {
			return fault.Permanent(cfe)
		}
		if !transient {
			return fault.Permanent(fmt.Errorf("dynamo: transaction cancelled: %w", err))
		}
		err = fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return fault.Retryable(fmt.Errorf("dynamo: transact %d items: %w", len(t.items), err))
}

func backoff(attempt int) time.Duration {
	base := time.Duration(1<<min(attempt, 6)) * 5 * time.Millisecond
	return base/2 + rand.N(base) // #nosec G404 -- jitter, not security
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff waits before attempt (1-based retries) of an optimistic retry
// loop: exponential with jitter, ended early by ctx.
func Backoff(ctx context.Context, attempt int) error {
	if attempt <= 0 {
		return nil
	}
	return sleep(ctx, backoff(attempt))
}

// Classify marks a DynamoDB error: a failed condition wraps
// ErrConditionFailed (permanent), throttling, internal and network errors
// are retryable, validation and missing resources permanent. Context
// cancellation stays as it is.
func Classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fault.Permanent(fmt.Errorf("%w: %w", ErrConditionFailed, err))
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
			"InternalServerError", "ServiceUnavailable", "TransactionInProgressException", "TransactionConflictException",
			"LimitExceededException":
			return fault.Retryable(err)
		}
		if api.ErrorFault() == smithy.FaultServer {
			return fault.Retryable(err)
		}
		return fault.Permanent(err)
	}
	// Transport failures (connection refused, reset, timeouts).
	return fault.Retryable(err)
}

// Attribute readers for decoding items.

// GetS returns the string attribute name of item ("" when absent).
func GetS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// GetN returns the number attribute name of item as an int64.
func GetN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("dynamo: attribute %s is not a number", name)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("dynamo: attribute %s: %w", name, err)
	}
	return n, nil
}

// GetB returns the binary attribute name of item.
func GetB(item map[string]types.AttributeValue, name string) []byte {
	if v, ok := item[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}
