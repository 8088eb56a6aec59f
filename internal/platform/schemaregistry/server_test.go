package schemaregistry_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
	"github.com/agoracommerce/agora/internal/platform/schemaregistry/sqlstore"
)

func mustStore(tb testing.TB) schemaregistry.Store {
	tb.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "registry.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// mustServer starts the registry on a SQLite file behind an httptest
// server on 127.0.0.1 and returns its URL and a franz-go client for it.
func mustServer(tb testing.TB, opts ...schemaregistry.Option) (string, *sr.Client) {
	tb.Helper()
	srv, err := schemaregistry.NewServer(mustStore(tb), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	cl, err := sr.NewClient(sr.URLs(ts.URL))
	if err != nil {
		tb.Fatal(err)
	}
	return ts.URL, cl
}

func protoSchema(text string, refs ...sr.SchemaReference) sr.Schema {
	return sr.Schema{Schema: text, Type: sr.TypeProtobuf, References: refs}
}

func mustRegister(tb testing.TB, cl *sr.Client, subject, text string, refs ...sr.SchemaReference) int {
	tb.Helper()
	id, err := cl.RegisterSchema(context.Background(), subject, protoSchema(text, refs...), -1, -1)
	if err != nil {
		tb.Fatalf("register %s: %v", subject, err)
	}
	return id
}

// errorCode returns the Confluent error code of a registry error, or 0.
func errorCode(err error) int {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return 0
}

func wantCode(tb testing.TB, what string, err error, code int) {
	tb.Helper()
	if got := errorCode(err); got != code {
		tb.Fatalf("%s: error code %d (%v), want %d", what, got, err, code)
	}
}

const orderV1 = `syntax = "proto3";
package agora.ordering.v1;

message OrderPlaced {
  string order_id = 1;
  int64 total_minor = 2;
}
`

func TestRegisterLookupAndRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, cl := mustServer(t)

	id := mustRegister(t, cl, "orders-value", orderV1)
	reformatted := "syntax=\"proto3\"; // same schema\npackage agora.ordering.v1; message OrderPlaced { string order_id = 1; int64 total_minor = 2; }"
	if again := mustRegister(t, cl, "orders-value", reformatted); again != id {
		t.Fatalf("re-registering the same schema got id %d, want %d", again, id)
	}
	if other := mustRegister(t, cl, "orders-copy-value", orderV1); other != id {
		t.Fatalf("the same schema under another subject got id %d, want %d", other, id)
	}
	v2 := orderV1[:len(orderV1)-2] + "  string currency = 3;\n}\n"
	id2 := mustRegister(t, cl, "orders-value", v2)
	if id2 == id {
		t.Fatalf("a new schema reused id %d", id)
	}

	found, err := cl.LookupSchema(ctx, "orders-value", protoSchema(reformatted))
	if err != nil {
		t.Fatal(err)
	}
	if found.Subject != "orders-value" || found.Version != 1 || found.ID != id || found.Type != sr.TypeProtobuf || found.Schema.Schema != orderV1 {
		t.Fatalf("lookup: %+v", found)
	}

	byID, err := cl.SchemaByID(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	if byID.Schema != v2 || byID.Type != sr.TypeProtobuf {
		t.Fatalf("schema by id: %+v", byID)
	}
	text, err := cl.SchemaTextByID(ctx, id)
	if err != nil || text != orderV1 {
		t.Fatalf("schema text by id: %q, %v", text, err)
	}
	latest, err := cl.SchemaByVersion(ctx, "orders-value", -1)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Version != 2 || latest.ID != id2 || latest.Schema.Schema != v2 {
		t.Fatalf("latest: %+v", latest)
	}
	first, err := cl.SchemaByVersion(ctx, "orders-value", 1)
	if err != nil || first.ID != id {
		t.Fatalf("version 1: %+v, %v", first, err)
	}
	raw, err := cl.SchemaTextByVersion(ctx, "orders-value", 2)
	if err != nil || raw != v2 {
		t.Fatalf("raw text of version 2: %q, %v", raw, err)
	}
	versions, err := cl.SubjectVersions(ctx, "orders-value")
	if err != nil || !cmp.Equal(versions, []int{1, 2}) {
		t.Fatalf("versions: %v, %v", versions, err)
	}
	subjects, err := cl.Subjects(ctx)
	if err != nil || !cmp.Equal(subjects, []string{"orders-copy-value", "orders-value"}) {
		t.Fatalf("subjects: %v, %v", subjects, err)
	}
	usages, err := cl.SchemaVersionsByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]sr.SubjectVersion{{Subject: "orders-copy-value", Version: 1}, {Subject: "orders-value", Version: 1}}, usages); d != "" {
		t.Fatalf("versions by id (-want +got):\n%s", d)
	}
	bySubjects, err := cl.SubjectsByID(ctx, id)
	if err != nil || !cmp.Equal(bySubjects, []string{"orders-copy-value", "orders-value"}) {
		t.Fatalf("subjects by id: %v, %v", bySubjects, err)
	}
	created, err := cl.CreateSchema(ctx, "orders-value", protoSchema(v2))
	if err != nil || created.Version != 2 || created.ID != id2 {
		t.Fatalf("CreateSchema of an existing schema: %+v, %v", created, err)
	}
	types, err := cl.SupportedTypes(ctx)
	if err != nil || !cmp.Equal(types, []sr.SchemaType{sr.TypeProtobuf}) {
		t.Fatalf("types: %v, %v", types, err)
	}
}

// TestCompatibilityLevels registers a sequence of schemas under each level:
// every step is accepted or refused with 409.
func TestCompatibilityLevels(t *testing.T) {
	t.Parallel()
	const (
		intA    = `syntax = "proto3"; message M { int32 a = 1; }`
		noA     = `syntax = "proto3"; message M { }`
		stringA = `syntax = "proto3"; message M { string a = 1; }`
		addB    = `syntax = "proto3"; message M { int32 a = 1; string b = 2; }`
		addMsg  = `syntax = "proto3"; message M { int32 a = 1; } message N { }`
	)
	type step struct {
		schema string
		ok     bool
	}
	tests := []struct {
		level sr.CompatibilityLevel
		steps []step
	}{
		{sr.CompatNone, []step{{intA, true}, {stringA, true}, {addMsg, true}}},
		{sr.CompatBackward, []step{{intA, true}, {addB, true}, {stringA, false}, {addMsg, true}}},
		{sr.CompatBackward, []step{{intA, true}, {noA, true}, {stringA, true}}},
		{sr.CompatBackwardTransitive, []step{{intA, true}, {noA, true}, {stringA, false}, {addB, true}}},
		{sr.CompatForward, []step{{intA, true}, {addMsg, false}, {addB, true}, {stringA, false}}},
		{sr.CompatForward, []step{{intA, true}, {noA, true}, {stringA, true}}},
		{sr.CompatForwardTransitive, []step{{intA, true}, {noA, true}, {stringA, false}}},
		{sr.CompatFull, []step{{intA, true}, {addB, true}, {addMsg, false}, {stringA, false}}},
		{sr.CompatFull, []step{{intA, true}, {noA, true}, {stringA, true}}},
		{sr.CompatFullTransitive, []step{{intA, true}, {noA, true}, {stringA, false}}},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s-%d", tt.level, i), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			_, cl := mustServer(t)
			subject := "compat-value"
			res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: tt.level}, subject)
			if res[0].Err != nil || res[0].Level != tt.level {
				t.Fatalf("set compatibility: %+v", res[0])
			}
			// The endpoint checks against one version (-1: the latest) or
			// against all (-2); registration checks what the level says.
			against := -1
			if strings.HasSuffix(tt.level.String(), "_TRANSITIVE") {
				against = -2
			}
			for n, st := range tt.steps {
				check, err := cl.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), subject, against, protoSchema(st.schema))
				if n > 0 && (err != nil || check.Is != st.ok) {
					t.Fatalf("step %d: compatibility check = %+v, %v; want %v", n, check, err, st.ok)
				}
				if n > 0 && !st.ok && len(check.Messages) == 0 {
					t.Fatalf("step %d: verbose check gave no messages", n)
				}
				_, err = cl.RegisterSchema(ctx, subject, protoSchema(st.schema), -1, -1)
				switch {
				case st.ok && err != nil:
					t.Fatalf("step %d: registration refused: %v", n, err)
				case !st.ok:
					wantCode(t, fmt.Sprintf("step %d", n), err, 409)
				}
			}
		})
	}
}

func TestCompatibilityEndpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, cl := mustServer(t)
	mustRegister(t, cl, "c", `syntax = "proto3"; message M { int32 a = 1; }`)
	mustRegister(t, cl, "c", `syntax = "proto3"; message M { }`)
	candidate := protoSchema(`syntax = "proto3"; message M { string a = 1; }`)

	// Against version 2 only it is fine, against version 1 or all versions it is not.
	for _, tc := range []struct {
		version int
		want    bool
	}{{2, true}, {-1, true}, {1, false}, {-2, false}} {
		got, err := cl.CheckCompatibility(ctx, "c", tc.version, candidate)
		if err != nil || got.Is != tc.want {
			t.Errorf("against version %d: %+v, %v; want %v", tc.version, got, err, tc.want)
		}
		if len(got.Messages) != 0 {
			t.Errorf("messages without verbose: %v", got.Messages)
		}
	}
	verbose, err := cl.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), "c", 1, candidate)
	if err != nil || len(verbose.Messages) != 1 || !strings.Contains(verbose.Messages[0], "FIELD_SCALAR_KIND_CHANGED #/M/1") {
		t.Fatalf("verbose: %+v, %v", verbose, err)
	}
	_, err = cl.CheckCompatibility(ctx, "c", 7, candidate)
	wantCode(t, "unknown version", err, 40402)
	_, err = cl.CheckCompatibility(ctx, "nope", -1, candidate)
	wantCode(t, "unknown subject", err, 40401)
}

func TestReferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, cl := mustServer(t)
	const money = `syntax = "proto3";
package agora.common.v1;
message Money { int64 minor = 1; string currency = 2; }
`
	const order = `syntax = "proto3";
package agora.ordering.v1;
import "agora/common/v1/money.proto";
import "google/protobuf/timestamp.proto";
message OrderPlaced {
  string order_id = 1;
  agora.common.v1.Money total = 2;
  google.protobuf.Timestamp placed_at = 3;
}
`
	mustRegister(t, cl, "agora.common.v1.Money", money)
	ref := sr.SchemaReference{Name: "agora/common/v1/money.proto", Subject: "agora.common.v1.Money", Version: 1}
	id := mustRegister(t, cl, "orders-value", order, ref)

	got, err := cl.SchemaByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]sr.SchemaReference{ref}, got.References); d != "" {
		t.Fatalf("references (-want +got):\n%s", d)
	}
	// "latest" (-1) in a reference resolves to the concrete version.
	latestRef := ref
	latestRef.Version = -1
	if again := mustRegister(t, cl, "orders-value", order, latestRef); again != id {
		t.Fatalf("registering with a latest reference got id %d, want %d", again, id)
	}
	// Without the reference the import cannot resolve.
	_, err = cl.RegisterSchema(ctx, "orders-value", protoSchema(order), -1, -1)
	wantCode(t, "missing reference", err, 42201)
	_, err = cl.RegisterSchema(ctx, "orders-value", protoSchema(order, sr.SchemaReference{Name: ref.Name, Subject: "nope", Version: 1}), -1, -1)
	wantCode(t, "unknown referenced subject", err, 42201)
	// A referenced schema cannot be deleted while it is used.
	err = cl.DeleteSchema(ctx, "agora.common.v1.Money", 1, sr.SoftDelete)
	wantCode(t, "delete referenced version", err, 42206)

	// A change inside the referenced message is checked through the reference.
	const money2 = `syntax = "proto3";
package agora.common.v1;
message Money { int64 minor = 1; string currency = 2; string note = 3; }
`
	mustRegister(t, cl, "agora.common.v1.Money", money2)
	ref2 := ref
	ref2.Version = 2
	if _, err := cl.RegisterSchema(ctx, "orders-value", protoSchema(order, ref2), -1, -1); err != nil {
		t.Fatalf("order with the newer money reference: %v", err)
	}
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, cl := mustServer(t)
	mustRegister(t, cl, "s", `syntax = "proto3"; message M { int32 a = 1; }`)
	mustRegister(t, cl, "s", `syntax = "proto3"; message M { int32 a = 1; int32 b = 2; }`)

	tests := []struct {
		name string
		call func() error
		code int
	}{
		{"unknown subject", func() error { _, err := cl.SubjectVersions(ctx, "nope"); return err }, 40401},
		{"lookup in unknown subject", func() error {
			_, err := cl.LookupSchema(ctx, "nope", protoSchema(`syntax = "proto3";`))
			return err
		}, 40401},
		{"unknown version", func() error { _, err := cl.SchemaByVersion(ctx, "s", 9); return err }, 40402},
		{"unknown schema id", func() error { _, err := cl.SchemaByID(ctx, 4242); return err }, 40403},
		{"lookup of an unregistered schema", func() error {
			_, err := cl.LookupSchema(ctx, "s", protoSchema(`syntax = "proto3"; message Other {}`))
			return err
		}, 40403},
		{"syntax error", func() error {
			_, err := cl.RegisterSchema(ctx, "s", protoSchema(`syntax = "proto3"; message {`), -1, -1)
			return err
		}, 42201},
		{"avro", func() error {
			_, err := cl.RegisterSchema(ctx, "s", sr.Schema{Schema: `{"type":"string"}`}, -1, -1)
			return err
		}, 42201},
		{"json schema", func() error {
			_, err := cl.RegisterSchema(ctx, "s", sr.Schema{Schema: `{"type":"object"}`, Type: sr.TypeJSON}, -1, -1)
			return err
		}, 42201},
		{"version zero", func() error { _, err := cl.SchemaByVersion(ctx, "s", 0); return err }, 42202},
		{"incompatible", func() error {
			_, err := cl.RegisterSchema(ctx, "s", protoSchema(`syntax = "proto3"; message M { string a = 1; }`), -1, -1)
			return err
		}, 409},
		{"explicit id needs import mode", func() error {
			_, err := cl.RegisterSchema(ctx, "s", protoSchema(`syntax = "proto3"; message X {}`), 77, -1)
			return err
		}, 42205},
		{"subject-level config not set", func() error { return cl.Compatibility(ctx, "s")[0].Err }, 40408},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.name, tt.call(), tt.code)
		})
	}
}

func TestDeleteSubjectsAndVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, cl := mustServer(t)
	mustRegister(t, cl, "d", `syntax = "proto3"; message M { int32 a = 1; }`)
	mustRegister(t, cl, "d", `syntax = "proto3"; message M { int32 a = 1; int32 b = 2; }`)
	mustRegister(t, cl, "e", `syntax = "proto3"; message E { }`)
	mustRegister(t, cl, "e", `syntax = "proto3"; message E { int32 x = 1; }`)

	_, err := cl.DeleteSubject(ctx, "d", sr.HardDelete)
	wantCode(t, "hard delete before soft", err, 40405)
	versions, err := cl.DeleteSubject(ctx, "d", sr.SoftDelete)
	if err != nil || !cmp.Equal(versions, []int{1, 2}) {
		t.Fatalf("soft delete: %v, %v", versions, err)
	}
	_, err = cl.DeleteSubject(ctx, "d", sr.SoftDelete)
	wantCode(t, "soft delete twice", err, 40404)
	if subjects, _ := cl.Subjects(ctx); !cmp.Equal(subjects, []string{"e"}) {
		t.Fatalf("subjects after soft delete: %v", subjects)
	}
	if subjects, _ := cl.Subjects(sr.WithParams(ctx, sr.ShowDeleted)); !cmp.Equal(subjects, []string{"d", "e"}) {
		t.Fatalf("subjects with deleted: %v", subjects)
	}
	_, err = cl.SchemaByVersion(ctx, "d", 1)
	wantCode(t, "read soft-deleted subject", err, 40401)
	if v, err := cl.SchemaByVersion(sr.WithParams(ctx, sr.ShowDeleted), "d", 1); err != nil || v.Version != 1 {
		t.Fatalf("read soft-deleted version with deleted=true: %+v, %v", v, err)
	}
	versions, err = cl.DeleteSubject(ctx, "d", sr.HardDelete)
	if err != nil || !cmp.Equal(versions, []int{1, 2}) {
		t.Fatalf("hard delete: %v, %v", versions, err)
	}
	_, err = cl.SubjectVersions(sr.WithParams(ctx, sr.ShowDeleted), "d")
	wantCode(t, "versions after hard delete", err, 40401)

	err = cl.DeleteSchema(ctx, "e", 1, sr.HardDelete)
	wantCode(t, "hard delete version before soft", err, 40407)
	if err := cl.DeleteSchema(ctx, "e", -1, sr.SoftDelete); err != nil {
		t.Fatalf("soft delete latest: %v", err)
	}
	err = cl.DeleteSchema(ctx, "e", 2, sr.SoftDelete)
	wantCode(t, "soft delete version twice", err, 40406)
	if err := cl.DeleteSchema(ctx, "e", 2, sr.HardDelete); err != nil {
		t.Fatalf("hard delete version: %v", err)
	}
	if vs, _ := cl.SubjectVersions(sr.WithParams(ctx, sr.ShowDeleted), "e"); !cmp.Equal(vs, []int{1}) {
		t.Fatalf("versions after deleting 2: %v", vs)
	}
	// Compatibility is checked against live versions only: version 2 is gone,
	// so removing field x's type constraint against version 1 is what counts.
	mustRegister(t, cl, "e", `syntax = "proto3"; message E { string x = 1; }`)
}

func TestConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, cl := mustServer(t)

	global := cl.Compatibility(ctx)[0]
	if global.Err != nil || global.Level != sr.CompatBackward {
		t.Fatalf("default global level: %+v", global)
	}
	if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFull}); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if res := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatNone}, "s"); res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	if got := cl.Compatibility(ctx, "s")[0]; got.Err != nil || got.Level != sr.CompatNone {
		t.Fatalf("subject level: %+v", got)
	}
	if got := cl.Compatibility(ctx)[0]; got.Err != nil || got.Level != sr.CompatFull {
		t.Fatalf("global level: %+v", got)
	}
	if got := cl.Compatibility(sr.WithParams(ctx, sr.DefaultToGlobal), "other")[0]; got.Err != nil || got.Level != sr.CompatFull {
		t.Fatalf("defaultToGlobal: %+v", got)
	}
	if got := cl.ResetCompatibility(ctx, "s")[0]; got.Err != nil || got.Level != sr.CompatNone {
		t.Fatalf("reset subject: %+v", got)
	}
	wantCode(t, "subject level after reset", cl.Compatibility(ctx, "s")[0].Err, 40408)
	if got := cl.ResetCompatibility(ctx)[0]; got.Err != nil || got.Level != sr.CompatFull {
		t.Fatalf("reset global: %+v", got)
	}
	if got := cl.Compatibility(ctx)[0]; got.Level != sr.CompatBackward {
		t.Fatalf("global level after reset: %+v", got)
	}
	if modes := cl.Mode(ctx); modes[0].Err != nil || modes[0].Mode != sr.ModeReadWrite {
		t.Fatalf("mode: %+v", modes[0])
	}
}

func TestDefaultCompatibilityOption(t *testing.T) {
	t.Parallel()
	_, cl := mustServer(t, schemaregistry.WithDefaultCompatibility(schemaregistry.CompatNone))
	mustRegister(t, cl, "n", `syntax = "proto3"; message M { int32 a = 1; }`)
	mustRegister(t, cl, "n", `syntax = "proto3"; message M { string a = 1; }`)
	if _, err := schemaregistry.NewServer(mustStore(t), schemaregistry.WithDefaultCompatibility("SIDEWAYS")); err == nil {
		t.Fatal("an invalid default level was accepted")
	}
	if _, err := schemaregistry.NewServer(nil); err == nil {
		t.Fatal("a nil store was accepted")
	}
}

func TestConcurrentRegistration(t *testing.T) {
	t.Parallel()
	_, cl := mustServer(t)
	const n = 16
	ids := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], errs[i] = cl.RegisterSchema(context.Background(), "race-value", protoSchema(orderV1), -1, -1)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("registration %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("registration %d got id %d, registration 0 got %d", i, ids[i], ids[0])
		}
	}
	if vs, err := cl.SubjectVersions(context.Background(), "race-value"); err != nil || !cmp.Equal(vs, []int{1}) {
		t.Fatalf("versions: %v, %v", vs, err)
	}
}

// rawCall sends a request without the franz-go client, for what it cannot
// express.
func rawCall(t *testing.T, method, url, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func TestHTTPEdges(t *testing.T) {
	t.Parallel()
	base, cl := mustServer(t, schemaregistry.WithMaxBodyBytes(4096))
	id := mustRegister(t, cl, "h", orderV1)
	big := `{"schemaType":"PROTOBUF","schema":"` + strings.Repeat("/", 5000) + `"}`

	tests := []struct {
		name, method, path, contentType, body string
		status, code                          int
	}{
		{"body too large", http.MethodPost, "/subjects/h/versions", schemaregistry.ContentType, big, 413, 413},
		{"malformed json", http.MethodPost, "/subjects/h/versions", schemaregistry.ContentType, `{"schema":`, 400, 400},
		{"trailing data", http.MethodPost, "/subjects/h/versions", "application/json", `{"schema":"x"} {}`, 400, 400},
		{"no schema field", http.MethodPost, "/subjects/h/versions", "application/json", `{"schemaType":"PROTOBUF"}`, 422, 42201},
		{"form content type", http.MethodPost, "/subjects/h/versions", "application/x-www-form-urlencoded", `a=b`, 415, 415},
		{"invalid version", http.MethodGet, "/subjects/h/versions/abc", "", "", 422, 42202},
		{"invalid compatibility", http.MethodPut, "/config/h", "application/json", `{"compatibility":"SIDEWAYS"}`, 422, 42203},
		{"invalid mode", http.MethodPut, "/mode", "application/json", `{"mode":"IMPORT"}`, 422, 42204},
		{"control character in subject", http.MethodGet, "/subjects/a%01b/versions", "", "", 422, 42208},
		{"unknown route", http.MethodGet, "/nothing", "", "", 404, 404},
		{"negative id", http.MethodGet, "/schemas/ids/-3", "", "", 404, 40403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := rawCall(t, tt.method, base+tt.path, tt.contentType, tt.body)
			var e struct {
				ErrorCode int    `json:"error_code"`
				Message   string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q is not Confluent's error shape: %v", body, err)
			}
			if status != tt.status || e.ErrorCode != tt.code || e.Message == "" {
				t.Fatalf("got %d %+v, want %d with code %d", status, e, tt.status, tt.code)
			}
			if ct := hdr.Get("Content-Type"); ct != schemaregistry.ContentType {
				t.Fatalf("content type %q", ct)
			}
		})
	}

	t.Run("subject with slash", func(t *testing.T) {
		if got := mustRegister(t, cl, "a/b", orderV1); got != id {
			t.Fatalf("id %d, want %d", got, id)
		}
		if vs, err := cl.SubjectVersions(context.Background(), "a/b"); err != nil || !cmp.Equal(vs, []int{1}) {
			t.Fatalf("versions: %v, %v", vs, err)
		}
	})

	t.Run("serialized format", func(t *testing.T) {
		status, _, body := rawCall(t, http.MethodGet, fmt.Sprintf("%s/schemas/ids/%d?format=serialized", base, id), "", "")
		var got struct {
			Schema     string `json:"schema"`
			SchemaType string `json:"schemaType"`
		}
		if err := json.Unmarshal(body, &got); status != 200 || err != nil {
			t.Fatalf("status %d body %s: %v", status, body, err)
		}
		raw, err := base64.StdEncoding.DecodeString(got.Schema)
		if err != nil {
			t.Fatal(err)
		}
		var fdp descriptorpb.FileDescriptorProto
		if err := proto.Unmarshal(raw, &fdp); err != nil {
			t.Fatal(err)
		}
		if fdp.GetPackage() != "agora.ordering.v1" || fdp.GetMessageType()[0].GetName() != "OrderPlaced" {
			t.Fatalf("descriptor: %v", &fdp)
		}
	})
}

func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	srv, err := schemaregistry.NewServer(mustStore(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	cl, err := sr.NewClient(sr.URLs("http://" + ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	mustRegister(t, cl, "serve", orderV1)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v after cancel", err)
	}
	if _, err := cl.Subjects(context.Background()); err == nil {
		t.Fatal("the server still answers after shutdown")
	}
}
