package dynamostore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agoracommerce/agora/internal/notification"
	"github.com/agoracommerce/agora/internal/notification/app"
	"github.com/agoracommerce/agora/internal/platform/dynamo"
)

// Bounds of the index reads.
const (
	// maxQueryLimit bounds the items one Query asks for.
	maxQueryLimit = 1000
	// maxPageSize bounds a page of Messages (the app asks for at most
	// app.MaxPageSize).
	maxPageSize = 1000
	// claimHorizon bounds how many index entries one Claim reads, in
	// multiples of its limit, when entries keep losing to other senders.
	claimHorizon = 4
)

// Messages implements app.Repository from gsi1 (eventually consistent),
// read backwards. The cursor names the gsi1 sort key of the last message
// of the previous page and the customer it was issued for.
func (s *Store) Messages(ctx context.Context, customerID string, q app.PageQuery) (app.Page[notification.Message], error) {
	limit := min(max(q.Limit, 1), maxPageSize)
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(dynamo.GSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": dynamo.S(customerPrefix + customerID)},
		ScanIndexForward:          aws.Bool(false),
	}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor, "m", customerID)
		if err != nil {
			return app.Page[notification.Message]{}, err
		}
		in.KeyConditionExpression = aws.String("gsi1pk = :pk AND gsi1sk < :after")
		in.ExpressionAttributeValues[":after"] = dynamo.S(after)
	}
	// One more than the page tells whether another page follows. A query
	// answer stops at 1 MB, so it may take more than one.
	var items []notification.Message
	for {
		in.Limit = aws.Int32(int32(min(limit+1-len(items), maxQueryLimit))) // #nosec G115 -- bounded
		out, err := s.api.Query(ctx, in)
		if err != nil {
			return app.Page[notification.Message]{}, dbErr("list messages", err)
		}
		for _, item := range out.Items {
			rec, err := decodeMessage(item)
			if err != nil {
				return app.Page[notification.Message]{}, err
			}
			items = append(items, rec.msg)
		}
		if len(items) > limit || len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	page := app.Page[notification.Message]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor("m", customerID, listKey(last.CreatedAt(), last.ID()))
	}
	return page, nil
}

// Claim implements app.Repository from gsi2 (eventually consistent): each
// entry due at now is claimed with a put conditional on the version the
// entry shows, and skipped when that lost. Claims are single writes, not
// one transaction: when a storage error ends Claim after it claimed some
// messages it returns those (they are held and must be sent), and the
// error shows on the next call.
func (s *Store) Claim(ctx context.Context, now, until time.Time, limit int) ([]notification.Message, error) {
	if limit <= 0 {
		return nil, nil
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(dynamo.GSI2),
		KeyConditionExpression: aws.String("gsi2pk = :pk AND gsi2sk < :bound"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": dynamo.S(pendingPK), ":bound": dynamo.S(pad(micros(now) + 1)),
		},
		Limit: aws.Int32(int32(min(limit, maxQueryLimit))), // #nosec G115 -- bounded
	}
	var claimed []notification.Message
	partial := func(err error) ([]notification.Message, error) {
		if len(claimed) > 0 {
			return claimed, nil
		}
		return nil, err
	}
	budget := claimHorizon * min(limit, maxQueryLimit)
	for read := 0; ; {
		out, err := s.api.Query(ctx, in)
		if err != nil {
			return partial(dbErr("find due messages", err))
		}
		for _, item := range out.Items {
			read++
			rec, err := decodeMessage(item)
			if err != nil {
				return partial(err)
			}
			m := rec.msg
			if err := m.Claim(now, until); err != nil {
				continue // the entry is stale: changed since
			}
			ok, err := s.save(ctx, &m, rec.correlation)
			if err != nil {
				return partial(err)
			}
			if !ok {
				continue // another sender, or another change, came first
			}
			m.Stored()
			claimed = append(claimed, m)
			if len(claimed) == limit {
				return claimed, nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 || read >= budget {
			return claimed, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// encodeCursor makes an opaque keyset cursor: the listing's kind, a
// fingerprint of its filter, and the index sort key of the last item of
// the page.
func encodeCursor(kind, filter, after string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "1:" + fingerprint(filter) + ":" + after))
}

// decodeCursor reads a cursor encodeCursor made for the same kind and
// filter; any other is notification.ErrInvalidCursor.
func decodeCursor(cursor, kind, filter string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", notification.ErrInvalidCursor
	}
	after, ok := strings.CutPrefix(string(raw), kind+"1:"+fingerprint(filter)+":")
	if !ok {
		return "", notification.ErrInvalidCursor
	}
	at, id, ok := strings.Cut(after, "#")
	if !ok || len(at) != 20 || strings.Trim(at, "0123456789") != "" || notification.ValidateMessageID(id) != nil {
		return "", notification.ErrInvalidCursor
	}
	return after, nil
}

func fingerprint(filter string) string {
	sum := sha256.Sum256([]byte(filter))
	return hex.EncodeToString(sum[:8])
}
