package notification

import (
	"slices"
	"strconv"

	"github.com/google/uuid"
)

// Kind is what a message tells the customer. Each kind has its template.
type Kind string

// The kinds of messages.
const (
	KindOrderReceived  Kind = "order_received"
	KindOrderConfirmed Kind = "order_confirmed"
	KindOrderShipped   Kind = "order_shipped"
	KindOrderDelivered Kind = "order_delivered"
	KindOrderCompleted Kind = "order_completed"
	KindOrderRejected  Kind = "order_rejected"
	KindOrderCancelled Kind = "order_cancelled"
	KindRefundIssued   Kind = "refund_issued"
)

// Kinds lists every kind, in the order an order's messages usually come.
func Kinds() []Kind {
	return []Kind{KindOrderReceived, KindOrderConfirmed, KindOrderShipped, KindOrderDelivered, KindOrderCompleted,
		KindOrderRejected, KindOrderCancelled, KindRefundIssued}
}

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool { return slices.Contains(Kinds(), k) }

// namespace is the UUID namespace of message IDs.
var namespace = uuid.MustParse("8a0f5c3e-2b7d-4f61-9c1e-6d4a2b8e7f05")

// MessageID is the ID of the message of kind about orderID: a name-based
// UUID (version 5) of the three, so that the same notice always has the
// same ID. ref tells apart several messages of one kind for one order (a
// refund's ID); it is empty for kinds an order gets once. Each part is
// length-prefixed, so no two different triples share a name.
func MessageID(orderID string, kind Kind, ref string) string {
	var name []byte
	for _, part := range []string{orderID, string(kind), ref} {
		name = strconv.AppendInt(name, int64(len(part)), 10)
		name = append(name, ':')
		name = append(name, part...)
	}
	return uuid.NewSHA1(namespace, name).String()
}
