package schemaregistry_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agoracommerce/agora/internal/platform/schemaregistry"
)

// FuzzRegister posts arbitrary bodies to the register endpoint and then to
// the lookup and compatibility endpoints: whatever arrives, the answer is
// never a 5xx and always JSON, in Confluent's error shape when it fails.
// The seed corpus lives in testdata/fuzz/FuzzRegister.
func FuzzRegister(f *testing.F) {
	srv, err := schemaregistry.NewServer(mustStore(f), schemaregistry.WithMaxBodyBytes(64<<10))
	if err != nil {
		f.Fatal(err)
	}
	// A registered schema gives the lookup and compatibility calls
	// something to compare against.
	seed := `{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\"; message M { int32 a = 1; }"}`
	for _, path := range []string{"/subjects/fuzz/versions", "/subjects/base/versions"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader([]byte(seed))))
		if rec.Code != http.StatusOK {
			f.Fatalf("seed registration: %d %s", rec.Code, rec.Body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/subjects/fuzz/versions", "/subjects/fuzz", "/compatibility/subjects/base/versions/latest"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", schemaregistry.ContentType)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("POST %s answered %d: %s", path, rec.Code, rec.Body)
			}
			var resp map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("POST %s answered %d with non-JSON %q", path, rec.Code, rec.Body)
			}
			if rec.Code >= 400 {
				if code, ok := resp["error_code"].(float64); !ok || code == 0 || resp["message"] == "" {
					t.Fatalf("POST %s answered %d without Confluent's error shape: %s", path, rec.Code, rec.Body)
				}
			}
		}
	})
}
