package tfcheck

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// resolver checks that every reference in a configuration names something
// the configuration (or a local module it calls) declares.
type resolver struct {
	r    *Report
	c    *Config
	load func(string) (*Config, error)
	err  error
}

// scope is what a reference may name besides the configuration's
// declarations.
type scope struct {
	each, count bool
	self        bool
	iterators   map[string]bool
	// validationOf is the variable whose validation block this is: its
	// condition may name that variable only (Terraform before 1.9).
	validationOf string
}

func (s scope) with(iterator string) scope {
	its := map[string]bool{iterator: true}
	for k := range s.iterators {
		its[k] = true
	}
	s.iterators = its
	return s
}

func (x *resolver) config() error {
	for _, b := range x.c.blocks {
		switch b.Type {
		case "terraform", "moved", "import", "removed":
			continue
		case "variable":
			x.variable(b)
		case "resource", "data", "module":
			_, each := b.Body.Attributes["for_each"]
			_, count := b.Body.Attributes["count"]
			x.body(b.Body, scope{each: each, count: count})
		default: // output, locals, provider, check
			x.body(b.Body, scope{})
		}
		if x.err != nil {
			return x.err
		}
	}
	return nil
}

func (x *resolver) variable(b *hclsyntax.Block) {
	name := ""
	if len(b.Labels) == 1 {
		name = b.Labels[0]
	}
	if a := attr(b, "default"); a != nil {
		if vars := hclsyntax.Variables(a.Expr); len(vars) > 0 {
			x.r.add("variables", vars[0].SourceRange(), "the default of variable %q refers to %s; defaults must be constant", name, rootOf(vars[0]))
		}
	}
	for _, inner := range b.Body.Blocks {
		if inner.Type == "validation" {
			x.body(inner.Body, scope{validationOf: name})
		}
	}
}

func (x *resolver) body(body *hclsyntax.Body, sc scope) {
	for _, name := range sortedKeys(body.Attributes) {
		x.expr(body.Attributes[name].Expr, sc)
	}
	for _, inner := range body.Blocks {
		switch inner.Type {
		case "lifecycle":
			for an, a := range inner.Body.Attributes {
				if an == "ignore_changes" {
					continue // names of the resource's own arguments
				}
				x.expr(a.Expr, sc)
			}
			for _, cond := range inner.Body.Blocks {
				s := sc
				s.self = cond.Type == "postcondition"
				x.body(cond.Body, s)
			}
		case "dynamic":
			iterator := ""
			if len(inner.Labels) == 1 {
				iterator = inner.Labels[0]
			}
			if a := attr(inner, "iterator"); a != nil {
				if kw := hcl.ExprAsKeyword(a.Expr); kw != "" {
					iterator = kw
				}
			}
			if a := attr(inner, "for_each"); a != nil {
				x.expr(a.Expr, sc)
			}
			s := sc.with(iterator)
			for an, a := range inner.Body.Attributes {
				if an != "for_each" && an != "iterator" {
					x.expr(a.Expr, s)
				}
			}
			for _, content := range inner.Body.Blocks {
				x.body(content.Body, s)
			}
		case "provisioner", "connection":
			s := sc
			s.self = true
			x.body(inner.Body, s)
		default:
			x.body(inner.Body, sc)
		}
	}
}

func (x *resolver) expr(expr hclsyntax.Expression, sc scope) {
	for _, t := range hclsyntax.Variables(expr) {
		if x.traversal(t, sc) {
			x.r.References++
		}
	}
}

// traversal checks one reference and reports whether it resolved.
func (x *resolver) traversal(t hcl.Traversal, sc scope) bool {
	root := t.RootName()
	rng := t.SourceRange()
	if sc.iterators[root] {
		return true
	}
	if sc.validationOf != "" && !(root == "var" && attrName(t, 1) == sc.validationOf) {
		x.r.add("variables", rng, "the validation of variable %q refers to %s: before Terraform 1.9 a validation may refer to its own variable only", sc.validationOf, rootOf(t))
		return false
	}
	switch root {
	case "var":
		name := attrName(t, 1)
		if _, ok := x.c.Variables[name]; !ok {
			x.r.add("references", rng, "reference to undeclared variable var.%s", name)
			return false
		}
	case "local":
		name := attrName(t, 1)
		if _, ok := x.c.Locals[name]; !ok {
			x.r.add("references", rng, "reference to undeclared local value local.%s", name)
			return false
		}
	case "module":
		return x.module(t)
	case "data":
		key := attrName(t, 1) + "." + attrName(t, 2)
		if _, ok := x.c.Data[key]; !ok {
			x.r.add("references", rng, "reference to undeclared data source data.%s", key)
			return false
		}
	case "each":
		if !sc.each {
			x.r.add("references", rng, "each.%s outside a block with for_each", attrName(t, 1))
			return false
		}
	case "count":
		if !sc.count {
			x.r.add("references", rng, "count.%s outside a block with count", attrName(t, 1))
			return false
		}
	case "self":
		if !sc.self {
			x.r.add("references", rng, "self outside a provisioner, connection or postcondition")
			return false
		}
	case "path", "terraform":
	default:
		key := root + "." + attrName(t, 1)
		if _, ok := x.c.Resources[key]; !ok {
			x.r.add("references", rng, "reference to undeclared resource %s", key)
			return false
		}
	}
	return true
}

// module checks module.<name>[...].<output>.
func (x *resolver) module(t hcl.Traversal) bool {
	rng := t.SourceRange()
	name := attrName(t, 1)
	m, ok := x.c.Modules[name]
	if !ok {
		x.r.add("references", rng, "reference to undeclared module module.%s", name)
		return false
	}
	output := ""
	for _, step := range t[2:] {
		if a, ok := step.(hcl.TraverseAttr); ok {
			output = a.Name
			break
		}
	}
	if output == "" || m.Dir == "" || !hasTerraformFiles(m.Dir) {
		return true
	}
	callee, err := x.load(m.Dir)
	if err != nil {
		x.err = err
		return false
	}
	if _, ok := callee.Outputs[output]; !ok {
		x.r.add("references", rng, "module.%s.%s: %s has no output %q", name, output, m.Source, output)
		return false
	}
	return true
}

func attrName(t hcl.Traversal, i int) string {
	if len(t) <= i {
		return ""
	}
	if a, ok := t[i].(hcl.TraverseAttr); ok {
		return a.Name
	}
	return ""
}

func rootOf(t hcl.Traversal) string {
	if n := attrName(t, 1); n != "" {
		return t.RootName() + "." + n
	}
	return t.RootName()
}
