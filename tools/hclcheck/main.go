// Command hclcheck checks Terraform configurations where `terraform
// validate` cannot run (no provider plugins can be downloaded): formatting
// (the `terraform fmt -check` equivalent, hclwrite), parsing, typed and
// described variables, described outputs, module sources, inputs and
// required inputs, and every reference. See package tfcheck.
//
//	hclcheck [-write] [-require-provider aws] DIR...
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/agoracommerce/agora/tools/hclcheck/tfcheck"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit status: 0 clean, 1 findings, 2 usage or I/O error.
func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("hclcheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	write := flags.Bool("write", false, "rewrite unformatted files instead of reporting them")
	providers := flags.String("require-provider", "aws", "comma-separated providers every configuration must pin in required_providers")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if flags.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: hclcheck [-write] [-require-provider aws] DIR...")
		return 2
	}
	opts := tfcheck.Options{Write: *write}
	for _, p := range strings.Split(*providers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			opts.RequiredProviders = append(opts.RequiredProviders, p)
		}
	}
	report, err := tfcheck.Check(flags.Args(), opts)
	if err != nil {
		fmt.Fprintln(stderr, "hclcheck:", err)
		return 2
	}
	for _, path := range report.Rewritten {
		fmt.Fprintln(stdout, "formatted", path)
	}
	for _, f := range report.Findings {
		fmt.Fprintln(stdout, f)
	}
	fmt.Fprintf(stdout, "hclcheck: %d files parsed and format-checked; %d configurations (%d modules): %d variables typed and described (%d validation blocks), %d outputs described, %d module calls matched to their modules, %d references resolved; %d findings\n",
		report.Files, report.Configs, report.Modules, report.Variables, report.Validations, report.Outputs, report.ModuleCalls, report.References, len(report.Findings))
	if !report.OK() {
		return 1
	}
	return 0
}
