package simcarrier_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
	"github.com/agoracommerce/agora/internal/shipping/simcarrier"
)

var addr = shipping.Address{Name: "Ada Lovelace", Line1: "12 Market Street", City: "Amsterdam", PostalCode: "1012 AB", Country: "NL"}

func TestTrackingNumber(t *testing.T) {
	t.Parallel()
	format := regexp.MustCompile(`^AG[0-9]{10}$`)
	ids := []string{
		"01936f0e-8c4a-7b2e-9d41-6a3c2b1f0e77",
		"01936f0e-8c4a-7b2e-9d41-6a3c2b1f0e78",
		"00000000-0000-0000-0000-000000000000",
	}
	seen := map[string]bool{}
	for _, id := range ids {
		tn := simcarrier.TrackingNumber(id)
		require.Regexp(t, format, tn)
		require.Equal(t, tn, simcarrier.TrackingNumber(id), "derived, so stable")
		seen[tn] = true
	}
	require.Len(t, seen, len(ids), "neighbouring IDs get different numbers")
}

func TestCreateAndVoidLabel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := simcarrier.New(simcarrier.Config{})
	require.NoError(t, err)
	id := "01936f0e-8c4a-7b2e-9d41-6a3c2b1f0e77"
	req := app.LabelRequest{ShipmentID: id, OrderID: "order-1", Address: addr, Lines: []shipping.Line{{SKU: "A", Quantity: 1}}}
	label, err := c.CreateLabel(ctx, req)
	require.NoError(t, err)
	require.Equal(t, shipping.Label{Carrier: simcarrier.DefaultName, TrackingNumber: simcarrier.TrackingNumber(id), LabelID: "SIM-LBL-" + id}, label)
	again, err := c.CreateLabel(ctx, req)
	require.NoError(t, err)
	require.Equal(t, label, again, "labelling a shipment twice gives the same label")
	require.NoError(t, c.VoidLabel(ctx, label))
	require.NoError(t, c.VoidLabel(ctx, label), "voiding twice succeeds")

	foreign := []shipping.Label{
		{Carrier: "other", TrackingNumber: label.TrackingNumber, LabelID: label.LabelID},
		{Carrier: label.Carrier, TrackingNumber: "AG0000000000", LabelID: label.LabelID},
		{Carrier: label.Carrier, TrackingNumber: label.TrackingNumber, LabelID: "LBL-" + id},
	}
	for _, l := range foreign {
		require.ErrorIs(t, c.VoidLabel(ctx, l), shipping.ErrInvalid)
	}
	_, err = c.CreateLabel(ctx, app.LabelRequest{ShipmentID: "x", Address: addr})
	require.ErrorIs(t, err, shipping.ErrInvalid)
	_, err = c.CreateLabel(ctx, app.LabelRequest{ShipmentID: id})
	require.ErrorIs(t, err, shipping.ErrInvalid)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.CreateLabel(cancelled, req)
	require.ErrorIs(t, err, context.Canceled)
}

func TestNextStepAt(t *testing.T) {
	t.Parallel()
	since := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := simcarrier.New(simcarrier.Config{Name: "sim", PickupAfter: time.Minute, DeliverAfter: time.Hour})
	require.NoError(t, err)
	cases := []struct {
		status shipping.Status
		at     time.Time
		ok     bool
	}{
		{shipping.StatusLabelCreated, since.Add(time.Minute), true},
		{shipping.StatusInTransit, since.Add(time.Hour), true},
		{shipping.StatusDelivered, time.Time{}, false},
		{shipping.StatusCancelled, time.Time{}, false},
	}
	for _, tc := range cases {
		at, ok := c.NextStepAt(tc.status, since)
		require.Equal(t, tc.ok, ok, tc.status)
		require.Equal(t, tc.at, at, tc.status)
	}
	manual, err := simcarrier.New(simcarrier.Config{PickupAfter: time.Minute})
	require.NoError(t, err)
	_, ok := manual.NextStepAt(shipping.StatusInTransit, since)
	require.False(t, ok, "a zero delay schedules nothing")
}

func TestConfigValidates(t *testing.T) {
	t.Parallel()
	_, err := simcarrier.New(simcarrier.Config{PickupAfter: -time.Second})
	require.Error(t, err)
	_, err = simcarrier.New(simcarrier.Config{DeliverAfter: -time.Second})
	require.Error(t, err)
	_, err = simcarrier.New(simcarrier.Config{Name: string(make([]byte, shipping.MaxCarrierLength+1))})
	require.Error(t, err)
}
