package notification

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	"sync"
	texttemplate "text/template"
)

// templateFS holds one template file per kind (templates/<kind>.tmpl,
// defining "subject", "text" and "html") and the parts they share
// (templates/layout.tmpl).
//
//go:embed templates/*.tmpl
var templateFS embed.FS

// Content is a rendered message: its subject (one line), its plain-text
// body and its HTML body.
type Content struct {
	Subject string
	Text    string
	HTML    string
}

// Validate checks that the content is complete and the subject one clean
// line.
func (c Content) Validate() error {
	if c.Subject == "" || Clean(c.Subject, MaxSubjectLength) != c.Subject {
		return invalid("subject must be one line of 1-%d characters", MaxSubjectLength)
	}
	if strings.TrimSpace(c.Text) == "" || strings.TrimSpace(c.HTML) == "" {
		return invalid("a message needs a text and an HTML body")
	}
	return nil
}

// set is the parsed templates of every kind: the text template renders the
// subject and the plain-text body, the HTML template the HTML body.
type set struct {
	text map[Kind]*texttemplate.Template
	html map[Kind]*htmltemplate.Template
}

var parsed = sync.OnceValues(parseTemplates)

func parseTemplates() (*set, error) {
	s := &set{text: map[Kind]*texttemplate.Template{}, html: map[Kind]*htmltemplate.Template{}}
	for _, k := range Kinds() {
		files := []string{"templates/layout.tmpl", "templates/" + string(k) + ".tmpl"}
		tt, err := texttemplate.New(string(k)).Option("missingkey=error").ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("notification: templates of %s: %w", k, err)
		}
		ht, err := htmltemplate.New(string(k)).Option("missingkey=error").ParseFS(templateFS, files...)
		if err != nil {
			return nil, fmt.Errorf("notification: templates of %s: %w", k, err)
		}
		for _, name := range []string{"subject", "text", "html"} {
			if tt.Lookup(name) == nil {
				return nil, fmt.Errorf("notification: template of %s does not define %q", k, name)
			}
		}
		s.text[k], s.html[k] = tt, ht
	}
	return s, nil
}

// view is what templates see: a notice's facts, formatted.
type view struct {
	Name           string
	OrderID        string
	Lines          []lineView
	Total          string
	Carrier        string
	TrackingNumber string
	Reason         string
	Refund         bool
	Amount         string
}

type lineView struct {
	SKU, Name        string
	Quantity         int64
	UnitPrice, Total string
}

func newView(n Notice, r Recipient) (view, error) {
	v := view{Name: r.Name, OrderID: n.OrderID, Total: n.Total.String(), Carrier: n.Carrier, TrackingNumber: n.TrackingNumber,
		Refund: n.Refund, Amount: n.Amount.String()}
	if n.Kind == KindOrderRejected || n.Kind == KindOrderCancelled {
		v.Reason = n.Reason.explain(n.Detail)
	}
	for _, l := range n.Lines {
		total, err := l.UnitPrice.Times(l.Quantity)
		if err != nil {
			return view{}, err
		}
		v.Lines = append(v.Lines, lineView{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice.String(), Total: total.String()})
	}
	return v, nil
}

// explain is the reason as the customer reads it, after "cancelled: ".
func (r Reason) explain(detail string) string {
	if e, ok := explanations[r]; ok {
		return e
	}
	if detail = strings.TrimRight(detail, ". "); detail != "" {
		return detail
	}
	return "a problem on our side"
}

var blankLines = regexp.MustCompile(`\n{3,}`)

// tidy trims trailing spaces of every line and leading and trailing blank
// lines, and keeps at most one blank line in a row.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return blankLines.ReplaceAllString(strings.Trim(strings.Join(lines, "\n"), "\n"), "\n\n") + "\n"
}

// Render renders the message of notice n for recipient r from the
// templates of n's kind.
func Render(n Notice, r Recipient) (Content, error) {
	if err := n.Validate(); err != nil {
		return Content{}, err
	}
	if err := r.Validate(); err != nil {
		return Content{}, err
	}
	s, err := parsed()
	if err != nil {
		return Content{}, err
	}
	v, err := newView(n, r)
	if err != nil {
		return Content{}, err
	}
	var subject, text, html bytes.Buffer
	if err := s.text[n.Kind].ExecuteTemplate(&subject, "subject", v); err != nil {
		return Content{}, fmt.Errorf("notification: render subject of %s: %w", n.Kind, err)
	}
	if err := s.text[n.Kind].ExecuteTemplate(&text, "text", v); err != nil {
		return Content{}, fmt.Errorf("notification: render text of %s: %w", n.Kind, err)
	}
	if err := s.html[n.Kind].ExecuteTemplate(&html, "html", v); err != nil {
		return Content{}, fmt.Errorf("notification: render HTML of %s: %w", n.Kind, err)
	}
	c := Content{Subject: Clean(subject.String(), MaxSubjectLength), Text: tidy(text.String()), HTML: tidy(html.String())}
	return c, c.Validate()
}
