// Command lambdazip writes reproducible AWS Lambda deployment packages: one
// zip per service holding the same `bootstrap` executable, with a fixed
// modification time, fixed modes and sorted entries, so two builds of the
// same binary give byte-identical zips.
//
//	lambdazip -bootstrap dist/lambda/bootstrap -out dist/lambda cart catalog ...
package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// modified is the time every entry carries (the zip format's epoch is
// 1980; a fixed date keeps builds identical).
var modified = time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC)

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("lambdazip", flag.ContinueOnError)
	bootstrap := flags.String("bootstrap", "", "the bootstrap executable to package")
	out := flags.String("out", "dist/lambda", "directory for <service>.zip")
	if err := flags.Parse(args); err != nil {
		return err
	}
	services := flags.Args()
	if *bootstrap == "" || len(services) == 0 {
		return errors.New("usage: lambdazip -bootstrap <file> [-out <dir>] <service> [<service> ...]")
	}
	binary, err := os.ReadFile(*bootstrap)
	if err != nil {
		return fmt.Errorf("read bootstrap: %w", err)
	}
	sort.Strings(services)
	if err := os.MkdirAll(*out, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	for _, svc := range services {
		if !serviceName.MatchString(svc) {
			return fmt.Errorf("%q is not a service name", svc)
		}
		data, err := Package(map[string]File{"bootstrap": {Data: binary, Mode: 0o755}})
		if err != nil {
			return fmt.Errorf("%s: %w", svc, err)
		}
		path := filepath.Join(*out, svc+".zip")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if _, err := fmt.Fprintf(stdout, "%s\t%d bytes\n", path, len(data)); err != nil {
			return err
		}
	}
	return nil
}

// File is one entry of a package.
type File struct {
	Data []byte
	Mode fs.FileMode
}

// Package returns a zip of files, entries sorted by name, each deflated
// with the fixed modification time and its mode (Unix permissions, so
// Lambda can execute bootstrap).
func Package(files map[string]File) ([]byte, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range names {
		f := files[name]
		hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modified}
		hdr.SetMode(f.Mode)
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return nil, fmt.Errorf("zip %s: %w", name, err)
		}
		if _, err := w.Write(f.Data); err != nil {
			return nil, fmt.Errorf("zip %s: %w", name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	return buf.Bytes(), nil
}
