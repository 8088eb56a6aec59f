// Package simcarrier is a simulated carrier for local runs and tests: it
// labels a shipment without calling anyone, with a tracking number derived
// from the shipment ID (AG and ten digits, the same for the same shipment
// every time), and schedules each step of the shipment (picked up, then
// delivered) a configurable delay after the previous one, so that the
// shipping service's advancer brings a demo order to delivered unattended.
package simcarrier

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/agoracommerce/agora/internal/shipping"
	"github.com/agoracommerce/agora/internal/shipping/app"
)

// DefaultName is the carrier name shipments of the simulated carrier
// carry.
const DefaultName = "agora-sim"

// labelPrefix starts every label ID of the simulated carrier.
const labelPrefix = "SIM-LBL-"

var trackingPattern = regexp.MustCompile(`^AG[0-9]{10}$`)

// Config sets up the simulated carrier.
type Config struct {
	// Name is the carrier's name on labels; DefaultName when empty.
	Name string
	// PickupAfter is how long after its label a shipment goes in transit;
	// 0 schedules nothing (the step is taken by hand, through the API).
	PickupAfter time.Duration
	// DeliverAfter is how long after pick-up a shipment is delivered; 0
	// schedules nothing.
	DeliverAfter time.Duration
}

// Validate reports a bad setting.
func (c Config) Validate() error {
	if c.PickupAfter < 0 || c.DeliverAfter < 0 {
		return errors.New("simcarrier: delays must not be negative")
	}
	if len(c.Name) > shipping.MaxCarrierLength {
		return fmt.Errorf("simcarrier: name is longer than %d bytes", shipping.MaxCarrierLength)
	}
	return nil
}

// Carrier is the simulated carrier. It keeps no state; safe for
// concurrent use.
type Carrier struct {
	cfg Config
}

var _ app.Carrier = (*Carrier)(nil)

// New returns the simulated carrier.
func New(cfg Config) (*Carrier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	return &Carrier{cfg: cfg}, nil
}

// TrackingNumber is the tracking number of a shipment: AG and ten digits
// taken from a SHA-256 of its ID. Distinct shipments may share one (ten
// digits cannot tell every ID apart); the shipment ID stays the identity.
func TrackingNumber(shipmentID string) string {
	sum := sha256.Sum256([]byte(shipmentID))
	return fmt.Sprintf("AG%010d", binary.BigEndian.Uint64(sum[:8])%10_000_000_000)
}

// CreateLabel implements app.Carrier.
func (c *Carrier) CreateLabel(ctx context.Context, req app.LabelRequest) (shipping.Label, error) {
	if err := ctx.Err(); err != nil {
		return shipping.Label{}, err
	}
	if err := shipping.ValidateShipmentID(req.ShipmentID); err != nil {
		return shipping.Label{}, fmt.Errorf("simcarrier: %w", err)
	}
	if err := req.Address.Validate(); err != nil {
		return shipping.Label{}, fmt.Errorf("simcarrier: %w", err)
	}
	return shipping.Label{Carrier: c.cfg.Name, TrackingNumber: TrackingNumber(req.ShipmentID), LabelID: labelPrefix + req.ShipmentID}, nil
}

// VoidLabel implements app.Carrier. It accepts only labels it could have
// created; there is nothing to undo.
func (c *Carrier) VoidLabel(ctx context.Context, label shipping.Label) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, ok := strings.CutPrefix(label.LabelID, labelPrefix)
	if label.Carrier != c.cfg.Name || !ok || TrackingNumber(id) != label.TrackingNumber || !trackingPattern.MatchString(label.TrackingNumber) {
		return fmt.Errorf("simcarrier: label %q of %q is not one of this carrier's: %w", label.LabelID, label.Carrier, shipping.ErrInvalid)
	}
	return nil
}

// NextStepAt implements app.Carrier: pick-up PickupAfter after the label,
// delivery DeliverAfter after pick-up.
func (c *Carrier) NextStepAt(status shipping.Status, since time.Time) (time.Time, bool) {
	var d time.Duration
	switch status {
	case shipping.StatusLabelCreated:
		d = c.cfg.PickupAfter
	case shipping.StatusInTransit:
		d = c.cfg.DeliverAfter
	}
	if d <= 0 {
		return time.Time{}, false
	}
	return since.Add(d), true
}
