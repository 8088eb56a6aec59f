package services_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/platform/auth"
	"github.com/agoracommerce/agora/internal/platform/dynamo/dynamotest"
	"github.com/agoracommerce/agora/internal/services"
	st "github.com/agoracommerce/agora/internal/services/servicestest"
)

// The whole checkout in the storage layout of the AWS deployment: the six
// services with DynamoDB adapters each on a table of their own (moto),
// ordering and payment on their relational databases, notification
// sending through SES (moto), every service its own instance talking to
// the others only through Kafka. A purchase goes from PENDING to
// COMPLETED; the stock, the cart, the shipment, the order history and the
// customer's emails, all kept in DynamoDB, agree.
func TestCheckoutWithDynamoDBStores(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := st.NewWorld(t)
	emu := dynamotest.AWSConfig(t) // one request at a time to the emulator
	client := dynamotest.Client(t)

	// notification sends from an identity SES knows.
	from := "orders@t" + uuid.NewString()[:12] + ".example.com"
	ses := sesv2.NewFromConfig(emu)
	_, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(from)})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = ses.DeleteEmailIdentity(context.Background(), &sesv2.DeleteEmailIdentityInput{EmailIdentity: aws.String(from)})
	})

	onDynamo := func(name string, extra map[string]string) map[string]string {
		env := w.Env(t, name)
		prefix := services.Prefix(name) + "_"
		env[prefix+"DATABASE_URL"] = "dynamodb://" + dynamotest.NewTable(t, client, name)
		for k, v := range extra {
			env[prefix+k] = v
		}
		return env
	}
	aws := services.WithAWSConfig(emu)
	urls := map[string]string{}
	urls["catalog"] = st.Start(t, "catalog", onDynamo("catalog", nil), aws)
	urls["cart"] = st.Start(t, "cart", onDynamo("cart", nil), aws)
	urls["inventory"] = st.Start(t, "inventory", onDynamo("inventory", nil), aws)
	urls["shipping"] = st.Start(t, "shipping", onDynamo("shipping", map[string]string{
		"CARRIER_PICKUP_AFTER": "500ms", "CARRIER_DELIVER_AFTER": "500ms", "CARRIER_ADVANCE_INTERVAL": "200ms"}), aws)
	urls["notification"] = st.Start(t, "notification", onDynamo("notification", map[string]string{
		"EMAIL_SENDER": "ses", "SES_FROM": "Agora <" + from + ">", "DISPATCH_INTERVAL": "200ms"}), aws)
	urls["orderhistory"] = st.Start(t, "orderhistory", onDynamo("orderhistory", nil), aws)
	urls["payment"] = st.Start(t, "payment", w.Env(t, "payment"))
	ordering := w.Env(t, "ordering")
	ordering["AGORA_ORDERING_CART_URL"] = urls["cart"]
	urls["ordering"] = st.Start(t, "ordering", ordering)

	admin := st.Mint(t, w.Issuer, "admin-1", auth.AdminScopes())
	customer := st.Mint(t, w.Issuer, "customer-d1", auth.CustomerScopes())

	const sku = "LAMP-DDB-1"
	status, body := st.DoWithKey(t, http.MethodPost, urls["inventory"]+"/v1/stock/"+sku+"/receipts", admin, "receipt-ddb-1",
		`{"warehouse_id":"wh-1","quantity":5}`)
	require.Less(t, status, 300, "%s", body)
	_, cartID, _ := cartWithTwo(t, urls["catalog"], urls["cart"], admin, customer, sku, 1999)

	checkout := `{"cart_id":"` + cartID + `","payment_token":"tok_approve","email":"ada@example.com",
		"shipping_address":{"name":"Ada Lovelace","line1":"1 Main St","city":"Berlin","postal_code":"10115","country":"DE"}}`
	status, body = st.DoWithKey(t, http.MethodPost, urls["ordering"]+"/v1/orders", customer, "checkout-ddb-1", checkout)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var order map[string]any
	require.NoError(t, json.Unmarshal(body, &order))
	orderID := order["id"].(string)

	require.Eventually(t, func() bool {
		got := st.Call(t, http.MethodGet, urls["ordering"]+"/v1/orders/"+orderID, customer, "", http.StatusOK)
		require.NotContains(t, []string{"REJECTED", "CANCELLED"}, got["status"])
		return got["status"] == "COMPLETED"
	}, 90*time.Second, 200*time.Millisecond, "the order never completed")

	// The order completes on the capture; inventory commits the stock on
	// the same OrderShipped, independently, so it may still be on its way.
	require.Eventually(t, func() bool {
		stock := st.Call(t, http.MethodGet, urls["inventory"]+"/v1/stock/"+sku, admin, "", http.StatusOK)
		return stock["on_hand"] == float64(3) && stock["reserved"] == float64(0)
	}, 30*time.Second, 200*time.Millisecond, "the stock was never committed")
	require.Equal(t, "committed", st.Call(t, http.MethodGet, urls["inventory"]+"/v1/reservations/"+orderID, admin, "", http.StatusOK)["status"])
	require.Equal(t, "checked_out", st.Call(t, http.MethodGet, urls["cart"]+"/v1/carts/"+cartID, customer, "", http.StatusOK)["status"])

	require.Eventually(t, func() bool {
		status, body := st.Do(t, http.MethodGet, urls["orderhistory"]+"/v1/order-history/"+orderID, customer, "")
		if status == http.StatusNotFound {
			return false
		}
		require.Equal(t, http.StatusOK, status, "%s", body)
		var history struct {
			Summary  struct{ Status string }
			Timeline []struct{ Type string }
		}
		require.NoError(t, json.Unmarshal(body, &history))
		types := map[string]bool{}
		for _, e := range history.Timeline {
			types[e.Type] = true
		}
		return history.Summary.Status == "COMPLETED" && types["order.placed"] && types["stock.reserved"] && types["payment.authorized"] &&
			types["shipment.shipped"] && types["payment.captured"] && types["order.completed"]
	}, 30*time.Second, 200*time.Millisecond, "the order history never saw the whole saga")

	require.Eventually(t, func() bool {
		page := st.Call(t, http.MethodGet, urls["notification"]+"/v1/notifications", customer, "", http.StatusOK)
		items, _ := page["items"].([]any)
		if len(items) < 4 {
			return false
		}
		for _, it := range items {
			if it.(map[string]any)["status"] != "sent" {
				return false
			}
		}
		return true
	}, 30*time.Second, 200*time.Millisecond, "the customer's emails were not all sent through SES")
}
