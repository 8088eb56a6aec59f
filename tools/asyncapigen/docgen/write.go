package docgen

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// WriteDir makes dir hold exactly docs among its .yaml files: it writes
// every document whose content differs, and removes the .yaml files that
// are not in docs (a service that no longer owns a topic). Other files
// (such as the Go file that embeds the documents) are left alone. It
// returns the names of the files it wrote and of those it removed, sorted.
func WriteDir(dir string, docs map[string][]byte) (written, removed []string, err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("docgen: create %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("docgen: list %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		if _, keep := docs[e.Name()]; keep {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return nil, nil, fmt.Errorf("docgen: remove stale %s: %w", e.Name(), err)
		}
		removed = append(removed, e.Name())
	}
	names := make([]string, 0, len(docs))
	for name := range docs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != filepath.Base(name) || !strings.HasSuffix(name, ".yaml") {
			return nil, nil, fmt.Errorf("docgen: %q is not a document file name", name)
		}
		p := filepath.Join(dir, name)
		old, err := os.ReadFile(p) // #nosec G304 -- p is a generated name inside the output directory
		if err == nil && bytes.Equal(old, docs[name]) {
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("docgen: read %s: %w", p, err)
		}
		if err := os.WriteFile(p, docs[name], 0o644); err != nil { // #nosec G306 -- checked-in documentation, world-readable like every source file
			return nil, nil, fmt.Errorf("docgen: write %s: %w", p, err)
		}
		written = append(written, name)
	}
	sort.Strings(removed)
	return written, removed, nil
}
