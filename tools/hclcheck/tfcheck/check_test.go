package tfcheck_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agoracommerce/agora/tools/hclcheck/tfcheck"
)

// writeTree writes files (path relative to a new temporary directory) and
// returns the directory.
func writeTree(tb testing.TB, files map[string]string) string {
	tb.Helper()
	root := tb.TempDir()
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o750))
		require.NoError(tb, os.WriteFile(path, []byte(content), 0o600))
	}
	return root
}

func mustCheck(tb testing.TB, root string, opts tfcheck.Options) *tfcheck.Report {
	tb.Helper()
	report, err := tfcheck.Check([]string{root}, opts)
	require.NoError(tb, err)
	return report
}

// messages returns "<check>: <message>" of every finding.
func messages(r *tfcheck.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Check+": "+f.Message)
	}
	return out
}

const versions = `terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
  }
}
`

// A small module and a root configuration calling it, as the checks want
// them.
func goodTree() map[string]string {
	return map[string]string{
		"modules/bucket/versions.tf": versions,
		"modules/bucket/variables.tf": `variable "name" {
  description = "Name of the bucket."
  type        = string

  validation {
    condition     = length(var.name) > 2
    error_message = "name is longer than 2."
  }
}

variable "rules" {
  description = "Lifecycle rules."
  type        = map(number)
  default     = {}
}
`,
		"modules/bucket/main.tf": `locals {
  days = { for k, v in var.rules : k => v * 2 }
}

resource "aws_s3_bucket" "this" {
  bucket = var.name

  dynamic "lifecycle_rule" {
    for_each = local.days
    iterator = rule

    content {
      id = rule.key
    }
  }

  lifecycle {
    ignore_changes = [tags]
  }
}

data "aws_caller_identity" "current" {}
`,
		"modules/bucket/outputs.tf": `output "arn" {
  description = "ARN of the bucket."
  value       = "${aws_s3_bucket.this.arn}:${data.aws_caller_identity.current.account_id}"
}
`,
		"modules/bucket/README.md": "# bucket\n",
		"env/versions.tf":          versions,
		"env/main.tf": `variable "names" {
  description = "Buckets to create."
  type        = set(string)
}

module "bucket" {
  source   = "../modules/bucket"
  for_each = var.names

  name = each.key
}

output "arns" {
  description = "ARNs by name."
  value       = { for k, m in module.bucket : k => m.arn }
}

output "first" {
  description = "One ARN."
  value       = module.bucket["a"].arn
}
`,
		"env/terraform.tfvars.example": "names = [\"a\"]\n",
	}
}

func TestCheckAcceptsAGoodTree(t *testing.T) {
	t.Parallel()
	report := mustCheck(t, writeTree(t, goodTree()), tfcheck.Options{RequiredProviders: []string{"aws"}})

	require.Empty(t, messages(report))
	require.True(t, report.OK())
	require.Equal(t, 7, report.Files)
	require.Equal(t, 2, report.Configs)
	require.Equal(t, 1, report.Modules)
	require.Equal(t, 3, report.Variables)
	require.Equal(t, 1, report.Validations)
	require.Equal(t, 3, report.Outputs)
	require.Equal(t, 1, report.ModuleCalls)
	require.Positive(t, report.References)
}

func TestCheckFindsProblems(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit func(files map[string]string)
		want []string
	}{
		"unformatted file": {
			edit: func(f map[string]string) { f["env/extra.tf"] = "locals {\n  a=1\n}\n" },
			want: []string{"format: not formatted (run terraform fmt, or hclcheck -write)"},
		},
		"parse error": {
			edit: func(f map[string]string) { f["env/broken.tf"] = "resource \"aws_s3_bucket\" {\n" },
			want: []string{"parse: "},
		},
		"variable without type or description": {
			edit: func(f map[string]string) { f["env/extra.tf"] = "variable \"bare\" {}\n" },
			want: []string{`variables: variable "bare" has no type`, `variables: variable "bare" has no description`},
		},
		"output without description": {
			edit: func(f map[string]string) { f["env/extra.tf"] = "output \"bare\" {\n  value = 1\n}\n" },
			want: []string{`outputs: output "bare" has no description`},
		},
		"unknown and missing module inputs": {
			edit: func(f map[string]string) {
				f["env/main.tf"] = strings.Replace(f["env/main.tf"], "  name = each.key\n", "  nmae = each.key\n", 1)
			},
			want: []string{
				`modules: module "bucket": ../modules/bucket has no variable "nmae"`,
				`modules: module "bucket": required variable "name" of ../modules/bucket is not passed`,
			},
		},
		"missing module source": {
			edit: func(f map[string]string) {
				f["env/extra.tf"] = "module \"gone\" {\n  source = \"../modules/gone\"\n}\n"
			},
			want: []string{`modules: module "gone": source ../modules/gone has no .tf files`},
		},
		"undeclared references": {
			edit: func(f map[string]string) {
				f["env/extra.tf"] = `locals {
  a = var.nope
  b = local.nope
  c = aws_s3_bucket.nope.arn
  d = data.aws_region.nope.name
  e = module.bucket["a"].nope
  f = module.nope.arn
  g = each.key
  h = count.index
}
`
			},
			want: []string{
				"references: reference to undeclared variable var.nope",
				"references: reference to undeclared local value local.nope",
				"references: reference to undeclared resource aws_s3_bucket.nope",
				"references: reference to undeclared data source data.aws_region.nope",
				`references: module.bucket.nope: ../modules/bucket has no output "nope"`,
				"references: reference to undeclared module module.nope",
				"references: each.key outside a block with for_each",
				"references: count.index outside a block with count",
			},
		},
		"validation naming another variable": {
			edit: func(f map[string]string) {
				f["modules/bucket/variables.tf"] = strings.Replace(f["modules/bucket/variables.tf"],
					"condition     = length(var.name) > 2", "condition     = length(var.name) > length(var.rules)", 1)
			},
			want: []string{`variables: the validation of variable "name" refers to var.rules: before Terraform 1.9 a validation may refer to its own variable only`},
		},
		"default with a reference": {
			edit: func(f map[string]string) {
				f["env/extra.tf"] = "variable \"x\" {\n  description = \"X.\"\n  type        = string\n  default     = var.names\n}\n"
			},
			want: []string{`variables: the default of variable "x" refers to var.names; defaults must be constant`},
		},
		"tfvars setting an undeclared variable": {
			edit: func(f map[string]string) { f["env/terraform.tfvars.example"] = "names = [\"a\"]\nname  = \"b\"\n" },
			want: []string{`tfvars: terraform.tfvars.example sets "name", which `},
		},
		"module without its README": {
			edit: func(f map[string]string) { delete(f, "modules/bucket/README.md") },
			want: []string{"layout: module has no README.md"},
		},
		"unpinned provider": {
			edit: func(f map[string]string) {
				f["env/extra.tf"] = "resource \"random_id\" \"x\" {\n  byte_length = 4\n}\n"
			},
			want: []string{`versions: random_id.x uses provider "random", which required_providers does not pin`},
		},
		"no required_version": {
			edit: func(f map[string]string) { delete(f, "env/versions.tf") },
			want: []string{
				"versions: no terraform { required_version } in the configuration",
				`versions: provider "aws" is not pinned in required_providers (source and version)`,
			},
		},
		"duplicate declaration": {
			edit: func(f map[string]string) {
				f["env/extra.tf"] = "variable \"names\" {\n  description = \"Again.\"\n  type        = string\n}\n"
			},
			want: []string{`parse: duplicate variable: variable "names" is also declared at `},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			files := goodTree()
			tc.edit(files)
			report := mustCheck(t, writeTree(t, files), tfcheck.Options{RequiredProviders: []string{"aws"}})
			got := messages(report)
			require.Len(t, got, len(tc.want), "findings: %q", got)
			for _, want := range tc.want {
				require.True(t, containsPrefix(got, want), "want a finding starting %q, got %q", want, got)
			}
			require.False(t, report.OK())
		})
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestCheckWriteFormats(t *testing.T) {
	t.Parallel()
	files := goodTree()
	files["env/extra.tf"] = "locals {\n  a=1\n  bb = 2\n}\n"
	root := writeTree(t, files)

	report := mustCheck(t, root, tfcheck.Options{Write: true})
	require.Empty(t, messages(report))
	require.Equal(t, []string{filepath.Join(root, "env", "extra.tf")}, report.Rewritten)
	got, err := os.ReadFile(filepath.Join(root, "env", "extra.tf"))
	require.NoError(t, err)
	require.Equal(t, "locals {\n  a  = 1\n  bb = 2\n}\n", string(got))

	again := mustCheck(t, root, tfcheck.Options{})
	require.True(t, again.OK(), "findings after -write: %q", messages(again))
}

func TestCheckFindingsAreOrderedByFileAndLine(t *testing.T) {
	t.Parallel()
	files := goodTree()
	lines := []string{"locals {"}
	for i := 0; i < 12; i++ {
		lines = append(lines, "  v"+strings.Repeat("x", i)+" = var.missing")
	}
	files["env/extra.tf"] = strings.Join(lines, "\n") + "\n}\n"
	report := mustCheck(t, writeTree(t, files), tfcheck.Options{Write: true})

	require.Len(t, report.Findings, 12)
	for i := 1; i < len(report.Findings); i++ {
		require.Less(t, lineOf(t, report.Findings[i-1].Pos), lineOf(t, report.Findings[i].Pos))
	}
}

func lineOf(tb testing.TB, pos string) int {
	tb.Helper()
	i := strings.LastIndexByte(pos, ':')
	require.Positive(tb, i)
	n := 0
	for _, c := range pos[i+1:] {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestCheckNeedsADirectory(t *testing.T) {
	t.Parallel()
	_, err := tfcheck.Check(nil, tfcheck.Options{})
	require.Error(t, err)

	_, err = tfcheck.Check([]string{filepath.Join(t.TempDir(), "missing")}, tfcheck.Options{})
	require.Error(t, err)
}
