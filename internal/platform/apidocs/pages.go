package apidocs

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

// The views the templates render.
type (
	pageView struct {
		Title    string
		Styles   []string
		Scripts  []string
		Service  *serviceView
		Services []serviceView
		Viewers  []viewerView
	}
	serviceView struct {
		Name     string
		OpenAPI  *specView
		AsyncAPI *specView
	}
	specView struct {
		File, Title, Version, Summary string
		Topics                        []string
	}
	viewerView struct {
		Name, Version, License string
	}
)

// renderPages renders every page by its path.
func renderPages(services []*service, assets map[string]asset) (map[string]*resource, error) {
	tmpl, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("apidocs: templates: %w", err)
	}
	url := func(p string) string {
		a := assets[p]
		return Prefix + "/assets/" + p + "?v=" + a.res.version
	}
	views := make([]serviceView, 0, len(services))
	for _, s := range services {
		views = append(views, serviceView{Name: s.name, OpenAPI: s.openAPI.view(), AsyncAPI: s.asyncAPI.view()})
	}
	viewers := readViewers(assets)

	pages := map[string]*resource{}
	render := func(name, csp string, v pageView, paths ...string) error {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, name, v); err != nil {
			return fmt.Errorf("apidocs: render %s: %w", name, err)
		}
		res := memory(htmlType, buf.Bytes(), cacheRevalidate, csp)
		for _, p := range paths {
			pages[p] = res
		}
		return nil
	}
	index := pageView{Title: "Agora API documentation", Styles: []string{url(docsCSS)}, Services: views, Viewers: viewers}
	if err := render("index.html", pageCSP, index, Prefix, Prefix+"/"); err != nil {
		return nil, err
	}
	events := index
	events.Title = "Agora events"
	if err := render("events.html", pageCSP, events, Prefix+"/events", Prefix+"/events/"); err != nil {
		return nil, err
	}
	for i := range views {
		s := &views[i]
		if s.OpenAPI != nil {
			v := pageView{
				Title:   s.OpenAPI.Title + " — Agora API documentation",
				Styles:  []string{url(swaggerCSS), url(docsCSS)},
				Scripts: []string{url(swaggerJS), url(swaggerInit)},
				Service: s,
			}
			if err := render("swagger.html", pageCSP, v, Prefix+"/"+s.Name); err != nil {
				return nil, err
			}
		}
		if s.AsyncAPI != nil {
			v := pageView{
				Title:   s.AsyncAPI.Title + " — Agora API documentation",
				Styles:  []string{url(asyncapiCSS), url(docsCSS)},
				Scripts: []string{url(asyncapiJS), url(asyncapiInit)},
				Service: s,
			}
			if err := render("asyncapi.html", eventsPageCSP, v, Prefix+"/events/"+s.Name); err != nil {
				return nil, err
			}
		}
	}
	return pages, nil
}

func (s *spec) view() *specView {
	if s == nil {
		return nil
	}
	return &specView{File: s.file, Title: s.title, Version: s.version, Summary: s.summary, Topics: s.topics}
}

// readViewers reads the vendored packages' names and versions from
// vendor/VERSIONS ("<package> <version> <directory> <integrity>" lines),
// for the pages' footer; nil when it is missing or unreadable.
func readViewers(assets map[string]asset) []viewerView {
	a, ok := assets[vendorVersion]
	if !ok {
		return nil
	}
	raw, err := fs.ReadFile(a.res.fsys, a.res.name)
	if err != nil {
		return nil
	}
	var out []viewerView
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		license := f[2] + "/LICENSE"
		if _, ok := assets[license]; !ok {
			continue
		}
		out = append(out, viewerView{Name: f[0], Version: f[1], License: Prefix + "/assets/" + license})
	}
	return out
}
