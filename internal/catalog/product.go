package catalog

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits of a product's fields; the OpenAPI document states the same.
const (
	MaxSKULength         = 64
	MaxNameLength        = 200
	MaxDescriptionLength = 5000
	MaxAttributes        = 50
	MaxAttributeKey      = 64
	MaxAttributeValue    = 500
	MaxImages            = 10
	MaxImageURLLength    = 2048
)

var skuPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9._-]*$`)

// Status is where a product stands in its life.
type Status string

// The statuses of a product. A product starts as a draft (or directly
// active), goes on sale when active, and is archived for good.
const (
	StatusDraft    Status = "draft"
	StatusActive   Status = "active"
	StatusArchived Status = "archived"
)

// ParseStatus returns the Status named s.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusDraft, StatusActive, StatusArchived:
		return st, nil
	}
	return "", invalid("/status", "must be draft, active or archived")
}

// Details are the parts of a product an operator edits: everything but the
// ID, the SKU and the status.
type Details struct {
	Name        string
	Description string
	Price       Money
	CategoryID  uuid.UUID
	Attributes  map[string]string
	ImageURLs   []string
}

// clone returns d with its own map and slice, never nil.
func (d Details) clone() Details {
	out := d
	out.Attributes = maps.Clone(d.Attributes)
	if out.Attributes == nil {
		out.Attributes = map[string]string{}
	}
	out.ImageURLs = slices.Clone(d.ImageURLs)
	if out.ImageURLs == nil {
		out.ImageURLs = []string{}
	}
	return out
}

func (d Details) equal(o Details) bool {
	return d.Name == o.Name && d.Description == o.Description && d.Price == o.Price &&
		d.CategoryID == o.CategoryID && maps.Equal(d.Attributes, o.Attributes) && slices.Equal(d.ImageURLs, o.ImageURLs)
}

func (d Details) validate() error {
	if err := checkText("/name", d.Name, MaxNameLength, true); err != nil {
		return err
	}
	if err := checkText("/description", d.Description, MaxDescriptionLength, false); err != nil {
		return err
	}
	if d.Price.IsZero() {
		return invalid("/price", "is required")
	}
	if _, err := NewMoney(d.Price.amount, d.Price.currency); err != nil {
		return err
	}
	if d.CategoryID == uuid.Nil {
		return invalid("/category_id", "is required")
	}
	if len(d.Attributes) > MaxAttributes {
		return invalid("/attributes", "has more than "+strconv.Itoa(MaxAttributes)+" entries")
	}
	for _, k := range slices.Sorted(maps.Keys(d.Attributes)) {
		field := "/attributes/" + pointerToken(k)
		if k == "" || utf8.RuneCountInString(k) > MaxAttributeKey || !utf8.ValidString(k) || strings.IndexFunc(k, unicode.IsControl) >= 0 {
			return invalid(field, "keys must be 1 to "+strconv.Itoa(MaxAttributeKey)+" printable characters")
		}
		if err := checkText(field, d.Attributes[k], MaxAttributeValue, false); err != nil {
			return err
		}
	}
	if len(d.ImageURLs) > MaxImages {
		return invalid("/image_urls", "has more than "+strconv.Itoa(MaxImages)+" entries")
	}
	for i, raw := range d.ImageURLs {
		u, err := url.Parse(raw)
		if err != nil || len(raw) > MaxImageURLLength || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("/image_urls/"+strconv.Itoa(i), "must be an absolute http or https URL of at most "+strconv.Itoa(MaxImageURLLength)+" bytes")
		}
	}
	return nil
}

// checkText checks a free text: valid UTF-8, at most max characters,
// without control characters other than line breaks and tabs, and not blank
// when required.
func checkText(field, s string, limit int, required bool) error {
	switch {
	case !utf8.ValidString(s):
		return invalid(field, "must be valid UTF-8")
	case required && strings.TrimSpace(s) == "":
		return invalid(field, "must not be blank")
	case utf8.RuneCountInString(s) > limit:
		return invalid(field, "must be at most "+strconv.Itoa(limit)+" characters")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0:
		return invalid(field, "must not contain control characters")
	}
	return nil
}

// pointerToken escapes a JSON pointer reference token (RFC 6901).
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// CheckSKU reports whether sku is a valid SKU: 1 to 64 upper-case letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func CheckSKU(sku string) error {
	if len(sku) > MaxSKULength || !skuPattern.MatchString(sku) {
		return invalid("/sku", "must be 1 to 64 upper-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return nil
}

// ProductState is a product's full state: what a repository stores and
// what every event carries (the product after the change).
type ProductState struct {
	ID        uuid.UUID
	SKU       string
	Details   Details
	Status    Status
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Product is the catalog's aggregate: one sellable item. Its version grows
// by one with every change and is the basis of its HTTP entity tag and of
// optimistic concurrency. Not safe for concurrent use.
type Product struct {
	state  ProductState
	events []Event
}

// NewProduct creates a product as a draft or directly active, and records
// ProductCreated.
func NewProduct(id uuid.UUID, sku string, d Details, status Status, now time.Time) (*Product, error) {
	if id == uuid.Nil {
		return nil, invalid("/id", "is required")
	}
	if err := CheckSKU(sku); err != nil {
		return nil, err
	}
	if status != StatusDraft && status != StatusActive {
		return nil, invalid("/status", "a new product is draft or active")
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	p := &Product{state: ProductState{
		ID: id, SKU: sku, Details: d.clone(), Status: status, Version: 1, CreatedAt: now, UpdatedAt: now,
	}}
	p.record(ProductCreated{Product: p.State(), At: now})
	return p, nil
}

// RestoreProduct rebuilds a stored product, without recording events.
func RestoreProduct(s ProductState) (*Product, error) {
	if s.ID == uuid.Nil || s.Version < 1 {
		return nil, invalid("/id", "a stored product needs an ID and a version")
	}
	if err := CheckSKU(s.SKU); err != nil {
		return nil, err
	}
	if _, err := ParseStatus(string(s.Status)); err != nil {
		return nil, err
	}
	if err := s.Details.validate(); err != nil {
		return nil, err
	}
	s.Details = s.Details.clone()
	return &Product{state: s}, nil
}

// ID returns the product's ID.
func (p *Product) ID() uuid.UUID { return p.state.ID }

// SKU returns the product's SKU, which never changes.
func (p *Product) SKU() string { return p.state.SKU }

// Status returns the product's status.
func (p *Product) Status() Status { return p.state.Status }

// Version returns the product's version, 1 when created.
func (p *Product) Version() int64 { return p.state.Version }

// Price returns the product's price.
func (p *Product) Price() Money { return p.state.Details.Price }

// State returns a copy of the product's state.
func (p *Product) State() ProductState {
	s := p.state
	s.Details = s.Details.clone()
	return s
}

// Replace sets the product's details and status. The status may stay or go
// from draft to active; archiving is Archive's. Nothing changes, and no
// event is recorded, when the details and status are those the product
// already has. Otherwise the version grows by one and the product records
// ProductUpdated when anything but the price changed and
// ProductPriceChanged when the price changed (in that order). It returns
// ErrArchived for an archived product and ErrInvalidTransition for a
// status change the life of a product does not allow.
func (p *Product) Replace(d Details, status Status, now time.Time) error {
	if p.state.Status == StatusArchived {
		return ErrArchived
	}
	if status != p.state.Status && (p.state.Status != StatusDraft || status != StatusActive) {
		return ErrInvalidTransition
	}
	if err := d.validate(); err != nil {
		return err
	}
	d = d.clone()
	old := p.state.Details
	priceChanged := d.Price != old.Price
	withOldPrice := d
	withOldPrice.Price = old.Price
	otherChanged := status != p.state.Status || !withOldPrice.equal(old)
	if !priceChanged && !otherChanged {
		return nil
	}
	now = now.UTC().Truncate(time.Microsecond)
	p.state.Details, p.state.Status = d, status
	p.state.Version++
	p.state.UpdatedAt = now
	if otherChanged {
		p.record(ProductUpdated{Product: p.State(), At: now})
	}
	if priceChanged {
		p.record(ProductPriceChanged{Product: p.State(), OldPrice: old.Price, At: now})
	}
	return nil
}

// Archive takes the product off sale for good, from draft or active, and
// records ProductArchived. Archiving an archived product changes nothing;
// changed reports which happened.
func (p *Product) Archive(now time.Time) (changed bool) {
	if p.state.Status == StatusArchived {
		return false
	}
	now = now.UTC().Truncate(time.Microsecond)
	p.state.Status = StatusArchived
	p.state.Version++
	p.state.UpdatedAt = now
	p.record(ProductArchived{Product: p.State(), At: now})
	return true
}

func (p *Product) record(e Event) { p.events = append(p.events, e) }

// Events returns the events recorded since the product was created or
// restored, oldest first. Repositories store them with the change.
func (p *Product) Events() []Event { return slices.Clone(p.events) }
