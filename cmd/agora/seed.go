package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// demoCatalog is the demo shop agora run seeds on first start.
//
//go:embed demo/catalog.json
var demoCatalog []byte

type demoData struct {
	Categories []struct {
		Slug        string `json:"slug"`
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"categories"`
	Products []struct {
		SKU         string            `json:"sku"`
		Name        string            `json:"name"`
		Category    string            `json:"category"`
		Price       int64             `json:"price"`
		Stock       int64             `json:"stock"`
		Description string            `json:"description"`
		Attributes  map[string]string `json:"attributes"`
	} `json:"products"`
}

// seeder fills an empty shop with the demo catalog and stock through the
// services' APIs (as an operator would), so the seeding takes the same path
// as any other write: events, outbox, read models.
type seeder struct {
	base  string
	token string
	http  *http.Client
}

// seed creates the demo data unless the catalog already has products; it
// is safe to run on every start. It returns how many products it created.
func (s *seeder) seed(ctx context.Context) (int, error) {
	var demo demoData
	if err := json.Unmarshal(demoCatalog, &demo); err != nil {
		return 0, fmt.Errorf("seed: demo catalog: %w", err)
	}
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := s.do(ctx, http.MethodGet, "/v1/products?limit=1", nil, "", http.StatusOK, &page); err != nil {
		return 0, err
	}
	if len(page.Items) > 0 {
		return 0, nil
	}
	categories := map[string]string{}
	for _, c := range demo.Categories {
		var out struct {
			ID string `json:"id"`
		}
		err := s.do(ctx, http.MethodPost, "/v1/categories", map[string]string{"slug": c.Slug, "name": c.Name, "description": c.Description}, "", http.StatusCreated, &out)
		if err != nil {
			return 0, err
		}
		categories[c.Slug] = out.ID
	}
	created := 0
	for _, p := range demo.Products {
		body := map[string]any{
			"sku": p.SKU, "name": p.Name, "description": p.Description, "category_id": categories[p.Category],
			"price": map[string]any{"amount_minor": p.Price, "currency": "EUR"}, "attributes": p.Attributes, "status": "active",
		}
		if err := s.do(ctx, http.MethodPost, "/v1/products", body, "", http.StatusCreated, nil); err != nil {
			return created, err
		}
		receipt := map[string]any{"warehouse_id": "main", "quantity": p.Stock, "note": "demo stock"}
		if err := s.do(ctx, http.MethodPost, "/v1/stock/"+p.SKU+"/receipts", receipt, "demo-"+p.SKU, http.StatusOK, nil); err != nil {
			return created, err
		}
		created++
	}
	return created, nil
}

func (s *seeder) do(ctx context.Context, method, path string, body any, idempotencyKey string, want int, out any) error {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	res, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("seed: %s %s: %w", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("seed: %s %s: %w", method, path, err)
	}
	if res.StatusCode != want {
		return fmt.Errorf("seed: %s %s answered %d: %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return errors.Join(fmt.Errorf("seed: %s %s: decode", method, path), err)
		}
	}
	return nil
}
