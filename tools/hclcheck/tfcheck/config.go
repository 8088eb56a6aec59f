// Package tfcheck checks Terraform configurations without Terraform and
// without providers: every file parses and is formatted the way
// `terraform fmt` formats it (hclwrite), and every configuration directory
// holds together — variables are typed and described (and their validation
// conditions refer to nothing but the variable, as Terraform before 1.9
// requires), outputs are described, local module sources exist, module
// calls pass exactly the callee's variables and every required one, and
// every reference (var., local., module.<name>.<output>, data.<type>.<name>,
// <type>.<name>, each., count., dynamic block iterators) names something
// declared. It is the fallback of `terraform validate` where the providers
// cannot be downloaded; it does not know the providers' schemas, so
// resource arguments themselves are not checked.
package tfcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Variable is a declared input variable.
type Variable struct {
	Name        string
	Typed       bool
	Described   bool
	HasDefault  bool
	Validations int
	Range       hcl.Range
	block       *hclsyntax.Block
}

// Output is a declared output value.
type Output struct {
	Name      string
	Described bool
	Range     hcl.Range
}

// ModuleCall is a module block.
type ModuleCall struct {
	Name   string
	Source string
	// Dir is the callee's directory for a local source ("./", "../"), or
	// empty for a registry or remote source.
	Dir    string
	Inputs map[string]hcl.Range
	Range  hcl.Range
	block  *hclsyntax.Block
}

// Config is one configuration directory: every .tf file in it.
type Config struct {
	Dir       string
	Files     []string
	Variables map[string]*Variable
	Outputs   map[string]*Output
	Locals    map[string]hcl.Range
	Modules   map[string]*ModuleCall
	Resources map[string]hcl.Range // "<type>.<name>"
	Data      map[string]hcl.Range // "<type>.<name>"
	// RequiredVersion is the terraform block's required_version, if any.
	RequiredVersion string
	// Providers are the local names in required_providers, with their
	// version constraints.
	Providers map[string]string

	blocks []*hclsyntax.Block
}

// loadConfig parses the .tf files of dir. Parse errors come back as
// diagnostics; the parts that did parse are still returned.
func loadConfig(dir string) (*Config, hcl.Diagnostics, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("tfcheck: read %s: %w", dir, err)
	}
	c := &Config{
		Dir: dir, Variables: map[string]*Variable{}, Outputs: map[string]*Output{}, Locals: map[string]hcl.Range{},
		Modules: map[string]*ModuleCall{}, Resources: map[string]hcl.Range{}, Data: map[string]hcl.Range{},
		Providers: map[string]string{},
	}
	var diags hcl.Diagnostics
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tf") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		src, err := os.ReadFile(path) // #nosec G304 -- the files of the configuration under check
		if err != nil {
			return nil, nil, fmt.Errorf("tfcheck: read %s: %w", path, err)
		}
		c.Files = append(c.Files, path)
		f, d := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		diags = append(diags, d...)
		if f == nil {
			continue
		}
		body, ok := f.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		diags = append(diags, c.collect(body)...)
	}
	sort.Strings(c.Files)
	return c, diags, nil
}

func dup(kind, name string, first hcl.Range, at hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: "duplicate " + kind,
		Detail:  fmt.Sprintf("%s %q is also declared at %s", kind, name, first),
		Subject: at.Ptr(),
	}
}

// collect records the declarations of one file's top-level blocks.
func (c *Config) collect(body *hclsyntax.Body) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range body.Blocks {
		c.blocks = append(c.blocks, b)
		rng := b.DefRange()
		switch b.Type {
		case "variable":
			if len(b.Labels) != 1 {
				continue
			}
			name := b.Labels[0]
			if v, ok := c.Variables[name]; ok {
				diags = append(diags, dup("variable", name, v.Range, rng))
				continue
			}
			v := &Variable{Name: name, Range: rng, block: b}
			_, v.Typed = b.Body.Attributes["type"]
			_, v.HasDefault = b.Body.Attributes["default"]
			v.Described = nonEmptyString(b.Body.Attributes["description"])
			for _, inner := range b.Body.Blocks {
				if inner.Type == "validation" {
					v.Validations++
				}
			}
			c.Variables[name] = v
		case "output":
			if len(b.Labels) != 1 {
				continue
			}
			name := b.Labels[0]
			if o, ok := c.Outputs[name]; ok {
				diags = append(diags, dup("output", name, o.Range, rng))
				continue
			}
			c.Outputs[name] = &Output{Name: name, Range: rng, Described: nonEmptyString(b.Body.Attributes["description"])}
		case "locals":
			for name, a := range b.Body.Attributes {
				if first, ok := c.Locals[name]; ok {
					diags = append(diags, dup("local value", name, first, a.NameRange))
					continue
				}
				c.Locals[name] = a.NameRange
			}
		case "module":
			if len(b.Labels) != 1 {
				continue
			}
			name := b.Labels[0]
			if m, ok := c.Modules[name]; ok {
				diags = append(diags, dup("module call", name, m.Range, rng))
				continue
			}
			m := &ModuleCall{Name: name, Range: rng, Inputs: map[string]hcl.Range{}, block: b}
			if a, ok := b.Body.Attributes["source"]; ok {
				if v, d := a.Expr.Value(nil); !d.HasErrors() && v.Type().FriendlyName() == "string" && v.IsKnown() && !v.IsNull() {
					m.Source = v.AsString()
				}
			}
			if strings.HasPrefix(m.Source, "./") || strings.HasPrefix(m.Source, "../") {
				m.Dir = filepath.Clean(filepath.Join(c.Dir, m.Source))
			}
			for an, a := range b.Body.Attributes {
				if !moduleMeta[an] {
					m.Inputs[an] = a.NameRange
				}
			}
			c.Modules[name] = m
		case "resource", "data":
			if len(b.Labels) != 2 {
				continue
			}
			key := b.Labels[0] + "." + b.Labels[1]
			table := c.Resources
			if b.Type == "data" {
				table = c.Data
			}
			if first, ok := table[key]; ok {
				diags = append(diags, dup(b.Type, key, first, rng))
				continue
			}
			table[key] = rng
		case "terraform":
			if a, ok := b.Body.Attributes["required_version"]; ok {
				if v, d := a.Expr.Value(nil); !d.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type().FriendlyName() == "string" {
					c.RequiredVersion = v.AsString()
				}
			}
			for _, inner := range b.Body.Blocks {
				if inner.Type != "required_providers" {
					continue
				}
				for pn, a := range inner.Body.Attributes {
					c.Providers[pn] = providerVersion(a.Expr)
				}
			}
		}
	}
	return diags
}

// moduleMeta are the module block arguments that are not inputs.
var moduleMeta = map[string]bool{
	"source": true, "version": true, "count": true, "for_each": true, "depends_on": true, "providers": true,
}

func nonEmptyString(a *hclsyntax.Attribute) bool {
	if a == nil {
		return false
	}
	v, d := a.Expr.Value(nil)
	if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type().FriendlyName() != "string" {
		// A description built from an expression still describes.
		return !d.HasErrors() || len(hclsyntax.Variables(a.Expr)) > 0
	}
	return strings.TrimSpace(v.AsString()) != ""
}

// providerVersion reads the version of a required_providers entry
// ({ source = ..., version = ... }).
func providerVersion(expr hclsyntax.Expression) string {
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return ""
	}
	for _, item := range obj.Items {
		k, d := item.KeyExpr.Value(nil)
		if d.HasErrors() || !k.IsKnown() || k.IsNull() || k.Type().FriendlyName() != "string" || k.AsString() != "version" {
			continue
		}
		if v, d := item.ValueExpr.Value(nil); !d.HasErrors() && v.IsKnown() && !v.IsNull() && v.Type().FriendlyName() == "string" {
			return v.AsString()
		}
	}
	return ""
}
