// Package storetest is the contract every schemaregistry.Store adapter must
// meet. An adapter's tests call Run with a constructor that returns a new,
// empty store for each subtest (and cleans it up with t.Cleanup).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
)

// NewStore returns an empty store that lives until the test ends.
type NewStore func(t *testing.T) schemaregistry.Store

// Run runs the contract suite against the stores newStore makes.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s schemaregistry.Store)
	}{
		{"CreateVersionNumbersVersions", testCreateVersionNumbers},
		{"CreateVersionReturnsExisting", testCreateVersionExisting},
		{"SchemaIDSharedAcrossSubjects", testSharedID},
		{"CreateVersionDetectsStaleLatest", testStaleLatest},
		{"ReadsAndNotFound", testReads},
		{"References", testReferences},
		{"SoftAndPermanentSubjectDelete", testDeleteSubject},
		{"SoftAndPermanentVersionDelete", testDeleteVersion},
		{"ReferencedVersionCannotBeDeleted", testReferencedDelete},
		{"Compatibility", testCompatibility},
		{"ConcurrentSameSchema", testConcurrentSame},
		{"ConcurrentDistinctSchemas", testConcurrentDistinct},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

func schema(n int) schemaregistry.Schema {
	text := fmt.Sprintf(`syntax = "proto3"; message M%d {}`, n)
	return schemaregistry.Schema{Type: schemaregistry.SchemaTypeProtobuf, Text: text, Fingerprint: fmt.Sprintf("fp-%d", n)}
}

func mustCreate(t *testing.T, s schemaregistry.Store, subject string, sc schemaregistry.Schema, expect int) schemaregistry.SubjectVersion {
	t.Helper()
	v, _, err := s.CreateVersion(context.Background(), subject, sc, expect)
	if err != nil {
		t.Fatalf("CreateVersion(%s, %s, %d): %v", subject, sc.Fingerprint, expect, err)
	}
	return v
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func testCreateVersionNumbers(t *testing.T, s schemaregistry.Store) {
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		v, created, err := s.CreateVersion(ctx, "orders-value", schema(i), i-1)
		if err != nil {
			t.Fatal(err)
		}
		if !created || v.Version != i || v.Subject != "orders-value" || v.Schema.ID < 1 {
			t.Fatalf("version %d: got %+v created=%v", i, v, created)
		}
		if v.Schema.Text != schema(i).Text || v.Schema.Fingerprint != schema(i).Fingerprint || v.Schema.Type != schemaregistry.SchemaTypeProtobuf {
			t.Fatalf("version %d: schema not stored as given: %+v", i, v.Schema)
		}
	}
	vs, err := s.Versions(ctx, "orders-value", false)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{1, 2, 3}, vs); d != "" {
		t.Fatalf("versions (-want +got):\n%s", d)
	}
}

func testCreateVersionExisting(t *testing.T, s schemaregistry.Store) {
	ctx := context.Background()
	first := mustCreate(t, s, "a", schema(1), 0)
	mustCreate(t, s, "a", schema(2), 1)
	// The expectation is ignored when the schema is already there.
	again, created, err := s.CreateVersion(ctx, "a", schema(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if created || again.Version != 1 || again.Schema.ID != first.Schema.ID {
		t.Fatalf("re-registration: got %+v created=%v, want version 1 id %d", again, created, first.Schema.ID)
	}
}

func testSharedID(t *testing.T, s schemaregistry.Store) {
	a := mustCreate(t, s, "a", schema(1), 0)
	b := mustCreate(t, s, "b", schema(1), 0)
	c := mustCreate(t, s, "b", schema(2), 1)
	if a.Schema.ID != b.Schema.ID {
		t.Fatalf("same schema under two subjects got ids %d and %d", a.Schema.ID, b.Schema.ID)
	}
	if c.Schema.ID == a.Schema.ID {
		t.Fatalf("different schemas share id %d", c.Schema.ID)
	}
	us, err := s.SchemaUsages(context.Background(), a.Schema.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range us {
		got = append(got, fmt.Sprintf("%s/%d", u.Subject, u.Version))
	}
	if d := cmp.Diff([]string{"a/1", "b/1"}, got); d != "" {
		t.Fatalf("usages (-want +got):\n%s", d)
	}
}

func testStaleLatest(t *testing.T, s schemaregistry.Store) {
	ctx := context.Background()
	mustCreate(t, s, "a", schema(1), 0)
	_, _, err := s.CreateVersion(ctx, "a", schema(2), 0)
	wantErr(t, "stale expectation", err, schemaregistry.ErrConflict)
	_, _, err = s.CreateVersion(ctx, "new", schema(2), 3)
	wantErr(t, "expectation on an empty subject", err, schemaregistry.ErrConflict)
	if vs, _ := s.Versions(ctx, "a", true); len(vs) != 1 {
		t.Fatalf("a conflicting create left versions %v", vs)
	}
}

func testReads(t *testing.T, s schemaregistry.Store) {
	ctx := context.Background()
	mustCreate(t, s, "b", schema(1), 0)
	v2 := mustCreate(t, s, "b", schema(2), 1)
	mustCreate(t, s, "a", schema(3), 0)

	subjects, err := s.Subjects(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a", "b"}, subjects); d != "" {
		t.Fatalf("subjects (-want +got):\n%s", d)
	}
	latest, err := s.Version(ctx, "b", schemaregistry.LatestVersion, false)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(v2, latest); d != "" {
		t.Fatalf("latest (-want +got):\n%s", d)
	}
	byID, err := s.SchemaByID(ctx, v2.Schema.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(v2.Schema, byID); d != "" {
		t.Fatalf("by id (-want +got):\n%s", d)
	}
	found, err := s.LookupSchema(ctx, "b", schema(2).Fingerprint, false)
	if err != nil {
		t.Fatal(err)
	}
	if found.Version != 2 {
		t.Fatalf("lookup found version %d", found.Version)
	}

	_, err = s.Version(ctx, "nope", 1, false)
	wantErr(t, "unknown subject", err, schemaregistry.ErrSubjectNotFound)
	_, err = s.Version(ctx, "b", 7, false)
	wantErr(t, "unknown version", err, schemaregistry.ErrVersionNotFound)
	_, err = s.Versions(ctx, "nope", false)
	wantErr(t, "versions of unknown subject", err, schemaregistry.ErrSubjectNotFound)
	_, err = s.SchemaByID(ctx, 999999)
	wantErr(t, "unknown id", err, schemaregistry.ErrSchemaNotFound)
	_, err = s.SchemaUsages(ctx, 999999, false)
	wantErr(t, "usages of unknown id", err, schemaregistry.ErrSchemaNotFound)
	_, err = s.LookupSchema(ctx, "nope", "fp-1", false)
	wantErr(t, "lookup in unknown subject", err, schemaregistry.ErrSubjectNotFound)
	_, err = s.LookupSchema(ctx, "a", "fp-1", false)
	wantErr(t, "lookup of a schema the subject lacks", err, schemaregistry.ErrSchemaNotFound)
}

func testReferences(t *testing.T, s schemaregistry.Store) {
	ctx := context.Background()
	mustCreate(t, s, "money", schema(1), 0)
	sc := schema(2)
	sc.References = []schemaregistry.Reference{
		{Name: "money.proto", Subject: "money", Version: 1},
		{Name: "z.proto", Subject: "money", Version: 1},
	}
	v := mustCreate(t, s, "orders", sc, 0)
	if d := cmp.Diff(sc.References, v.Schema.References); d != "" {
		t.Fatalf("references (-want +got):\n%s", d)
	}
	byID, err := s.SchemaByID(ctx, v.Schema.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sc.References, byID.References); d != "" {
		t.Fatalf("references by id (-want +got):\n%s", d)
	}
}

func testDeleteSubject(t *testing.T, s schemaregistry.Store) {
	ctx := context.Background()
	mustCreate(t, s, "a", schema(1), 0)
	mustCreate(t, s, "a", schema(2), 1)
	mustCreate(t, s, "keep", schema(3), 0)

	_, err := s.DeleteSubject(ctx, "a", true)
	wantErr(t, "permanent before soft", err, schemaregistry.ErrSubjectNotSoftDeleted)
	vs, err := s.DeleteSubject(ctx, "a", false)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{1, 2}, vs); d != "" {
		t.Fatalf("soft delete (-want +got):\n%s", d)
	}
	_, err = s.DeleteSubject(ctx, "a", false)
	wantErr(t, "second soft delete", err, schemaregistry.ErrSubjectSoftDeleted)
	if subjects, _ := s.Subjects(ctx, false); !cmp.Equal(subjects, []string{"keep"}) {
		t.Fatalf("live subjects after soft delete: %v", subjects)
	}
	if subjects, _ := s.Subjects(ctx, true); !cmp.Equal(subjects, []string{"a", "keep"}) {
		t.Fatalf("all subjects after soft delete: %v", subjects)
	}
	_, err = s.Version(ctx, "a", 1, false)
	wantErr(t, "soft-deleted version", err, schemaregistry.ErrSubjectNotFound)
	if v, err := s.Version(ctx, "a", 1, true); err != nil || !v.Deleted {
		t.Fatalf("soft-deleted version with deleted=true: %+v, %v", v, err)
	}

	// A new registration continues the numbering.
	v := mustCreate(t, s, "a", schema(1), 0)
	if v.Version != 3 {
		t.Fatalf("registration after soft delete got version %d, want 3", v.Version)
	}
	if _, err := s.DeleteSubject(ctx, "a", false); err != nil {
		t.Fatal(err)
	}
	vs, err = s.DeleteSubject(ctx, "a", true)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{1, 2, 3}, vs); d != "" {
		t.Fatalf("permanent delete (-want +got):\n%s", d)
	}
	_, err = s.DeleteSubject(ctx, "a", false)
	wantErr(t, "delete after permanent delete", err, schemaregistry.ErrSubjectNotFound)
	if subjects, _ := s.Subjects(ctx, true); !cmp.Equal(subjects, []string{"keep"}) {
		t.Fatalf("all subjects after permanent delete: %v", subjects)
	}
}

func testDeleteVersion(t *testing.T, s schemaregistry.Store) {
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		mustCreate(t, s, "a", schema(i), i-1)
	}
	_, err := s.DeleteVersion(ctx, "a", 2, true)
	wantErr(t, "permanent before soft", err, schemaregistry.ErrVersionNotSoftDeleted)
	if v, err := s.DeleteVersion(ctx, "a", 2, false); err != nil || v != 2 {
		t.Fatalf("soft delete of 2: %d, %v", v, err)
	}
	_, err = s.DeleteVersion(ctx, "a", 2, false)
	wantErr(t, "second soft delete", err, schemaregistry.ErrVersionSoftDeleted)
	if v, err := s.DeleteVersion(ctx, "a", schemaregistry.LatestVersion, false); err != nil || v != 3 {
		t.Fatalf("soft delete of latest: %d, %v", v, err)
	}
	if vs, _ := s.Versions(ctx, "a", false); !cmp.Equal(vs, []int{1}) {
		t.Fatalf("live versions: %v", vs)
	}
	if vs, _ := s.Versions(ctx, "a", true); !cmp.Equal(vs, []int{1, 2, 3}) {
		t.Fatalf("all versions: %v", vs)
	}
	if v, err := s.DeleteVersion(ctx, "a", 2, true); err != nil || v != 2 {
		t.Fatalf("permanent delete of 2: %d, %v", v, err)
	}
	if vs, _ := s.Versions(ctx, "a", true); !cmp.Equal(vs, []int{1, 3}) {
		t.Fatalf("versions after permanent delete: %v", vs)
	}
	_, err = s.DeleteVersion(ctx, "a", 9, false)
	wantErr(t, "unknown version", err, schemaregistry.ErrVersionNotFound)
	_, err = s.DeleteVersion(ctx, "nope", 1, false)
	wantErr(t, "unknown subject", err, schemaregistry.ErrSubjectNotFound)
}

func testReferencedDelete(t *testing.T, s schemaregistry.Store) {
	ctx := context.Background()
	mustCreate(t, s, "money", schema(1), 0)
	sc := schema(2)
	sc.References = []schemaregistry.Reference{{Name: "money.proto", Subject: "money", Version: 1}}
	mustCreate(t, s, "orders", sc, 0)

	_, err := s.DeleteVersion(ctx, "money", 1, false)
	wantErr(t, "delete referenced version", err, schemaregistry.ErrReferenceExists)
	_, err = s.DeleteSubject(ctx, "money", false)
	wantErr(t, "delete referenced subject", err, schemaregistry.ErrReferenceExists)
	if _, err := s.DeleteSubject(ctx, "orders", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteVersion(ctx, "money", 1, false); err != nil {
		t.Fatalf("delete once the referrer is gone: %v", err)
	}
}

func testCompatibility(t *testing.T, s schemaregistry.Store) {
	ctx := context.Background()
	_, err := s.Compatibility(ctx, "")
	wantErr(t, "unset global", err, schemaregistry.ErrConfigNotFound)
	if err := s.SetCompatibility(ctx, "", schemaregistry.CompatFull); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCompatibility(ctx, "a", schemaregistry.CompatNone); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCompatibility(ctx, "a", schemaregistry.CompatForwardTransitive); err != nil {
		t.Fatal(err)
	}
	for subject, want := range map[string]schemaregistry.Compatibility{"": schemaregistry.CompatFull, "a": schemaregistry.CompatForwardTransitive} {
		got, err := s.Compatibility(ctx, subject)
		if err != nil || got != want {
			t.Fatalf("Compatibility(%q) = %q, %v; want %q", subject, got, err, want)
		}
	}
	_, err = s.Compatibility(ctx, "b")
	wantErr(t, "unset subject", err, schemaregistry.ErrConfigNotFound)
	if got, err := s.DeleteCompatibility(ctx, "a"); err != nil || got != schemaregistry.CompatForwardTransitive {
		t.Fatalf("DeleteCompatibility(a) = %q, %v", got, err)
	}
	_, err = s.DeleteCompatibility(ctx, "a")
	wantErr(t, "second delete", err, schemaregistry.ErrConfigNotFound)
}

// register retries CreateVersion the way the registry does.
func register(ctx context.Context, s schemaregistry.Store, subject string, sc schemaregistry.Schema) (schemaregistry.SubjectVersion, error) {
	for range 100 {
		latest := 0
		if v, err := s.Version(ctx, subject, schemaregistry.LatestVersion, false); err == nil {
			latest = v.Version
		} else if !errors.Is(err, schemaregistry.ErrSubjectNotFound) {
			return v, err
		}
		v, _, err := s.CreateVersion(ctx, subject, sc, latest)
		if errors.Is(err, schemaregistry.ErrConflict) {
			continue
		}
		return v, err
	}
	return schemaregistry.SubjectVersion{}, errors.New("too many conflicts")
}

func testConcurrentSame(t *testing.T, s schemaregistry.Store) {
	const n = 8
	results := make([]schemaregistry.SubjectVersion, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Half register under one subject, half under another.
			subject := []string{"x", "y"}[i%2]
			results[i], errs[i] = register(context.Background(), s, subject, schema(1))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("registration %d: %v", i, errs[i])
		}
		if results[i].Schema.ID != results[0].Schema.ID || results[i].Version != 1 {
			t.Fatalf("registration %d got id %d version %d, registration 0 got id %d", i, results[i].Schema.ID, results[i].Version, results[0].Schema.ID)
		}
	}
	for _, subject := range []string{"x", "y"} {
		if vs, err := s.Versions(context.Background(), subject, true); err != nil || !cmp.Equal(vs, []int{1}) {
			t.Fatalf("versions of %s: %v, %v", subject, vs, err)
		}
	}
}

func testConcurrentDistinct(t *testing.T, s schemaregistry.Store) {
	const n = 8
	results := make([]schemaregistry.SubjectVersion, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = register(context.Background(), s, "z", schema(i)) })
	}
	wg.Wait()
	versions := map[int]bool{}
	ids := map[int]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("registration %d: %v", i, errs[i])
		}
		versions[results[i].Version] = true
		ids[results[i].Schema.ID] = true
	}
	if len(versions) != n || len(ids) != n {
		t.Fatalf("%d registrations got %d distinct versions and %d distinct ids", n, len(versions), len(ids))
	}
	vs, err := s.Versions(context.Background(), "z", false)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{1, 2, 3, 4, 5, 6, 7, 8}, vs); d != "" {
		t.Fatalf("versions (-want +got):\n%s", d)
	}
}
