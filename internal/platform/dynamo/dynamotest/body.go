package dynamotest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// readAll reads and closes a response body and returns a replayable copy.
func readAll(resp *http.Response) (io.ReadCloser, error) {
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("dynamotest: read response: %w", err)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}
