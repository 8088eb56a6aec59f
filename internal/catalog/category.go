package catalog

import (
	"regexp"
	"time"

	"github.com/google/uuid"
)

// Limits of a category's fields; the OpenAPI document states the same.
const (
	MaxSlugLength                = 64
	MaxCategoryNameLength        = 100
	MaxCategoryDescriptionLength = 1000
)

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Category groups products. Its slug is unique and never changes.
type Category struct {
	id          uuid.UUID
	slug        string
	name        string
	description string
	createdAt   time.Time
}

// NewCategory returns a category, new or as stored.
func NewCategory(id uuid.UUID, slug, name, description string, createdAt time.Time) (Category, error) {
	if id == uuid.Nil {
		return Category{}, invalid("/id", "is required")
	}
	if len(slug) > MaxSlugLength || !slugPattern.MatchString(slug) {
		return Category{}, invalid("/slug", "must be 1 to 64 lower-case letters and digits in words joined by single hyphens")
	}
	if err := checkText("/name", name, MaxCategoryNameLength, true); err != nil {
		return Category{}, err
	}
	if err := checkText("/description", description, MaxCategoryDescriptionLength, false); err != nil {
		return Category{}, err
	}
	return Category{id: id, slug: slug, name: name, description: description, createdAt: createdAt.UTC().Truncate(time.Microsecond)}, nil
}

// ID returns the category's ID.
func (c Category) ID() uuid.UUID { return c.id }

// Slug returns the category's unique slug.
func (c Category) Slug() string { return c.slug }

// Name returns the category's display name.
func (c Category) Name() string { return c.name }

// Description returns the category's description.
func (c Category) Description() string { return c.description }

// CreatedAt returns when the category was created.
func (c Category) CreatedAt() time.Time { return c.createdAt }
