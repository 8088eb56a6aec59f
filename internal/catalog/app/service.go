package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Page sizes of listings.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// ErrRestricted: the caller asked for something only catalog staff may see
// (a listing of draft or archived products). The edge answers 401 to an
// anonymous caller and 403 to others.
var ErrRestricted = errors.New("catalog: restricted to catalog staff")

// Viewer is who is looking at the catalog.
type Viewer struct {
	// Staff is true for callers who manage the catalog: they see drafts
	// and may list products of every status.
	Staff bool
}

// Config holds the collaborators of a Service.
type Config struct {
	// Products keeps products. Required.
	Products Repository
	// Categories keeps categories. Required.
	Categories CategoryRepository
	// Clock tells the time of changes; time.Now when nil.
	Clock func() time.Time
	// NewID makes IDs for new products and categories; uuid.NewV7 when
	// nil.
	NewID func() (uuid.UUID, error)
}

// Service runs the catalog's use cases. Safe for concurrent use.
type Service struct {
	products   Repository
	categories CategoryRepository
	now        func() time.Time
	newID      func() (uuid.UUID, error)
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Products == nil || cfg.Categories == nil {
		return nil, errors.New("catalog app: Config.Products and Config.Categories are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = uuid.NewV7
	}
	return &Service{products: cfg.Products, categories: cfg.Categories, now: cfg.Clock, newID: cfg.NewID}, nil
}

func (s *Service) id() (uuid.UUID, error) {
	id, err := s.newID()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new id: %w", err)
	}
	return id, nil
}

// pageSize applies the default and the bound of a page size.
func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > MaxPageSize:
		return MaxPageSize
	}
	return limit
}
