package tfcheck

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Options tune Check.
type Options struct {
	// Write rewrites the files that are not formatted instead of reporting
	// them (`terraform fmt`).
	Write bool
	// ModuleFiles are the files every reusable module (a directory whose
	// parent is named "modules") must hold.
	ModuleFiles []string
	// RequiredProviders are the providers every configuration must pin in
	// required_providers (e.g. "aws").
	RequiredProviders []string
}

// DefaultModuleFiles is the layout of a reusable module.
var DefaultModuleFiles = []string{"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"}

// Finding is one problem, at a position.
type Finding struct {
	Check   string // format, parse, variables, outputs, modules, references, layout, versions, tfvars
	Pos     string // file:line
	Message string

	file string
	line int
}

func (f Finding) String() string { return fmt.Sprintf("%s: [%s] %s", f.Pos, f.Check, f.Message) }

// Report is what Check found, with counts of what it looked at.
type Report struct {
	Files       int // HCL files parsed (.tf, .tfvars, .tfvars.example, .hcl.example)
	Rewritten   []string
	Configs     int // configuration directories
	Modules     int // of which reusable modules
	Variables   int
	Validations int // validation blocks
	Outputs     int
	ModuleCalls int
	References  int // references resolved
	Findings    []Finding
}

// OK reports whether nothing was found.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

func (r *Report) add(check string, rng hcl.Range, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Check: check, Pos: fmt.Sprintf("%s:%d", rng.Filename, rng.Start.Line), Message: fmt.Sprintf(format, args...), file: rng.Filename, line: rng.Start.Line})
}

func (r *Report) diags(check string, diags hcl.Diagnostics) {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		rng := hcl.Range{}
		if d.Subject != nil {
			rng = *d.Subject
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		r.Findings = append(r.Findings, Finding{Check: check, Pos: fmt.Sprintf("%s:%d", rng.Filename, rng.Start.Line), Message: msg, file: rng.Filename, line: rng.Start.Line})
	}
}

// hclFile reports whether name is an HCL file Check formats.
func hclFile(name string) bool {
	for _, suffix := range []string{".tf", ".tfvars", ".tfvars.example", ".hcl.example"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// Check walks roots (directories), skipping .terraform directories.
func Check(roots []string, opts Options) (*Report, error) {
	if len(roots) == 0 {
		return nil, errors.New("tfcheck: no directory to check")
	}
	r := &Report{}
	dirs := map[string]bool{}
	var tfvars []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".terraform" {
					return filepath.SkipDir
				}
				return nil
			}
			if !hclFile(d.Name()) {
				return nil
			}
			if err := r.format(path, opts.Write); err != nil {
				return err
			}
			switch {
			case strings.HasSuffix(path, ".tf"):
				dirs[filepath.Dir(path)] = true
			case strings.HasSuffix(path, ".tfvars") || strings.HasSuffix(path, ".tfvars.example"):
				tfvars = append(tfvars, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("tfcheck: walk %s: %w", root, err)
		}
	}

	ordered := make([]string, 0, len(dirs))
	for d := range dirs {
		ordered = append(ordered, d)
	}
	sort.Strings(ordered)
	cache := map[string]*Config{}
	load := func(dir string) (*Config, error) {
		if c, ok := cache[dir]; ok {
			return c, nil
		}
		c, diags, err := loadConfig(dir)
		if err != nil {
			return nil, err
		}
		if dirs[dir] {
			r.diags("parse", diags)
		}
		cache[dir] = c
		return c, nil
	}
	for _, dir := range ordered {
		c, err := load(dir)
		if err != nil {
			return nil, err
		}
		r.Configs++
		if err := r.checkConfig(c, opts, load); err != nil {
			return nil, err
		}
	}
	for _, path := range tfvars {
		c, err := load(filepath.Dir(path))
		if err != nil {
			return nil, err
		}
		r.checkTfvars(path, c)
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.file != b.file {
			return a.file < b.file
		}
		return a.line < b.line
	})
	return r, nil
}

// format parses path and compares it with its hclwrite formatting.
func (r *Report) format(path string, write bool) error {
	src, err := os.ReadFile(path) // #nosec G304 -- the files under check
	if err != nil {
		return fmt.Errorf("tfcheck: read %s: %w", path, err)
	}
	r.Files++
	if _, diags := hclwrite.ParseConfig(src, path, hcl.InitialPos); diags.HasErrors() {
		if !strings.HasSuffix(path, ".tf") { // .tf files report their parse errors with their configuration
			r.diags("parse", diags)
		}
		return nil
	}
	formatted := hclwrite.Format(src)
	if bytes.Equal(formatted, src) {
		return nil
	}
	if !write {
		r.Findings = append(r.Findings, Finding{Check: "format", Pos: path + ":1", Message: "not formatted (run terraform fmt, or hclcheck -write)", file: path, line: 1})
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("tfcheck: stat %s: %w", path, err)
	}
	if err := os.WriteFile(path, formatted, info.Mode().Perm()); err != nil { // #nosec G703 G306 -- rewrites a file the walk found, keeping its mode
		return fmt.Errorf("tfcheck: rewrite %s: %w", path, err)
	}
	r.Rewritten = append(r.Rewritten, path)
	return nil
}

// checkConfig checks one configuration directory.
func (r *Report) checkConfig(c *Config, opts Options, load func(string) (*Config, error)) error {
	dirRange := hcl.Range{Filename: c.Dir, Start: hcl.InitialPos}
	if filepath.Base(filepath.Dir(c.Dir)) == "modules" {
		r.Modules++
		files := opts.ModuleFiles
		if files == nil {
			files = DefaultModuleFiles
		}
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(c.Dir, f)); err != nil {
				r.add("layout", dirRange, "module has no %s", f)
			}
		}
	}

	if c.RequiredVersion == "" {
		r.add("versions", dirRange, "no terraform { required_version } in the configuration")
	}
	for _, p := range opts.RequiredProviders {
		if v, ok := c.Providers[p]; !ok || v == "" {
			r.add("versions", dirRange, "provider %q is not pinned in required_providers (source and version)", p)
		}
	}
	for key, rng := range c.Resources {
		r.needProvider(c, key, rng)
	}
	for key, rng := range c.Data {
		r.needProvider(c, key, rng)
	}

	for _, name := range sortedKeys(c.Variables) {
		v := c.Variables[name]
		r.Variables++
		r.Validations += v.Validations
		if !v.Typed {
			r.add("variables", v.Range, "variable %q has no type", name)
		}
		if !v.Described {
			r.add("variables", v.Range, "variable %q has no description", name)
		}
	}
	for _, name := range sortedKeys(c.Outputs) {
		o := c.Outputs[name]
		r.Outputs++
		if !o.Described {
			r.add("outputs", o.Range, "output %q has no description", name)
		}
	}

	for _, name := range sortedKeys(c.Modules) {
		m := c.Modules[name]
		r.ModuleCalls++
		if m.Source == "" {
			r.add("modules", m.Range, "module %q has no literal source", name)
			continue
		}
		if m.Dir == "" {
			continue // a registry or remote module: its inputs are not known here
		}
		if !hasTerraformFiles(m.Dir) {
			r.add("modules", m.Range, "module %q: source %s has no .tf files", name, m.Source)
			continue
		}
		callee, err := load(m.Dir)
		if err != nil {
			return err
		}
		for _, in := range sortedKeys(m.Inputs) {
			if _, ok := callee.Variables[in]; !ok {
				r.add("modules", m.Inputs[in], "module %q: %s has no variable %q", name, m.Source, in)
			}
		}
		for _, vn := range sortedKeys(callee.Variables) {
			if _, passed := m.Inputs[vn]; !passed && !callee.Variables[vn].HasDefault {
				r.add("modules", m.Range, "module %q: required variable %q of %s is not passed", name, vn, m.Source)
			}
		}
	}

	refs := &resolver{r: r, c: c, load: load}
	return refs.config()
}

// needProvider reports a resource or data source whose provider (the type's
// prefix) is not in required_providers.
func (r *Report) needProvider(c *Config, key string, rng hcl.Range) {
	provider, _, _ := strings.Cut(key, "_")
	if _, ok := c.Providers[provider]; !ok {
		r.add("versions", rng, "%s uses provider %q, which required_providers does not pin", key, provider)
	}
}

// checkTfvars reports assignments in a tfvars file to undeclared variables.
func (r *Report) checkTfvars(path string, c *Config) {
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() || f == nil {
		return // reported by format
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		r.diags("tfvars", diags)
		return
	}
	for _, name := range sortedKeys(attrs) {
		if _, ok := c.Variables[name]; !ok {
			r.add("tfvars", attrs[name].NameRange, "%s sets %q, which %s does not declare", filepath.Base(path), name, c.Dir)
		}
	}
}

func hasTerraformFiles(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".tf") {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// block helpers shared by the resolver.
func attr(b *hclsyntax.Block, name string) *hclsyntax.Attribute { return b.Body.Attributes[name] }
