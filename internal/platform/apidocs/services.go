package apidocs

import (
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	openAPIName  = regexp.MustCompile(`^([a-z][a-z0-9-]*)\.v([1-9][0-9]*)\.yaml$`)
	asyncAPIName = regexp.MustCompile(`^([a-z][a-z0-9-]*)\.yaml$`)
)

// reserved are the names a service may not have: they are routes.
var reserved = map[string]bool{"events": true, "openapi": true, "asyncapi": true, "assets": true}

// service is one service with its specs; either may be missing.
type service struct {
	name     string
	openAPI  *spec
	asyncAPI *spec
}

// spec is one spec file with what the index shows of it.
type spec struct {
	file    string
	major   int
	raw     []byte
	title   string
	version string
	// summary is the first sentence of the description.
	summary string
	// topics are an AsyncAPI document's channel addresses.
	topics []string
}

// specHead is the part of a spec the index reads.
type specHead struct {
	OpenAPI  string `yaml:"openapi"`
	AsyncAPI string `yaml:"asyncapi"`
	Info     struct {
		Title       string `yaml:"title"`
		Version     string `yaml:"version"`
		Description string `yaml:"description"`
	} `yaml:"info"`
	Channels map[string]struct {
		Address string `yaml:"address"`
	} `yaml:"channels"`
}

// loadServices reads the specs of every service, sorted by name.
func loadServices(openAPI, asyncAPI fs.FS) ([]*service, error) {
	byName := map[string]*service{}
	get := func(name string) (*service, error) {
		if reserved[name] {
			return nil, fmt.Errorf("a service may not be called %q: it is a route", name)
		}
		s := byName[name]
		if s == nil {
			s = &service{name: name}
			byName[name] = s
		}
		return s, nil
	}
	entries, err := fs.ReadDir(openAPI, ".")
	if err != nil {
		return nil, fmt.Errorf("apidocs: list the OpenAPI files: %w", err)
	}
	for _, e := range entries {
		m := openAPIName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue // *.codegen.yaml and anything else
		}
		major, err := strconv.Atoi(m[2])
		if err != nil {
			return nil, fmt.Errorf("apidocs: %s: major version: %w", e.Name(), err)
		}
		sp, err := readSpec(openAPI, e.Name(), false)
		if err != nil {
			return nil, err
		}
		sp.major = major
		s, err := get(m[1])
		if err != nil {
			return nil, fmt.Errorf("apidocs: %s: %w", e.Name(), err)
		}
		if s.openAPI == nil || s.openAPI.major < major {
			s.openAPI = sp
		}
	}
	entries, err = fs.ReadDir(asyncAPI, ".")
	if err != nil {
		return nil, fmt.Errorf("apidocs: list the AsyncAPI documents: %w", err)
	}
	for _, e := range entries {
		m := asyncAPIName.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		sp, err := readSpec(asyncAPI, e.Name(), true)
		if err != nil {
			return nil, err
		}
		s, err := get(m[1])
		if err != nil {
			return nil, fmt.Errorf("apidocs: %s: %w", e.Name(), err)
		}
		s.asyncAPI = sp
	}
	if len(byName) == 0 {
		return nil, fmt.Errorf("apidocs: neither OpenAPI files nor AsyncAPI documents found")
	}
	out := make([]*service, 0, len(byName))
	for _, s := range byName {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// readSpec reads and checks one spec file.
func readSpec(fsys fs.FS, name string, async bool) (*spec, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("apidocs: read %s: %w", name, err)
	}
	var head specHead
	if err := yaml.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("apidocs: %s is not YAML: %w", name, err)
	}
	switch {
	case async && !strings.HasPrefix(head.AsyncAPI, "3."):
		return nil, fmt.Errorf("apidocs: %s is not an AsyncAPI 3 document", name)
	case !async && !strings.HasPrefix(head.OpenAPI, "3."):
		return nil, fmt.Errorf("apidocs: %s is not an OpenAPI 3 file", name)
	case head.Info.Title == "":
		return nil, fmt.Errorf("apidocs: %s has no info.title", name)
	}
	sp := &spec{file: name, raw: raw, title: head.Info.Title, version: head.Info.Version,
		summary: firstSentence(head.Info.Description)}
	for _, ch := range head.Channels {
		if ch.Address != "" {
			sp.topics = append(sp.topics, ch.Address)
		}
	}
	sort.Strings(sp.topics)
	return sp, nil
}

// firstSentence is the first sentence of a Markdown description, on one
// line.
func firstSentence(s string) string {
	para, _, _ := strings.Cut(strings.TrimSpace(s), "\n\n")
	para = strings.Join(strings.Fields(para), " ")
	if i := strings.Index(para, ". "); i >= 0 {
		return para[:i+1]
	}
	return para
}
