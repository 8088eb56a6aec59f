package ordering

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Address is where an order is shipped.
type Address struct {
	Name       string
	Line1      string
	Line2      string
	City       string
	Region     string
	PostalCode string
	// Country is an ISO 3166-1 alpha-2 code, e.g. "DE".
	Country string
}

// Limits of an address's parts, in characters.
const (
	MaxAddressNameLength   = 100
	MaxAddressLineLength   = 200
	MaxCityLength          = 100
	MaxRegionLength        = 100
	MaxPostalCodeLength    = 20
	MaxEmailLength         = 254
	maxEndReasonMessageLen = 500
)

// Validate checks every part of a.
func (a Address) Validate() error {
	for _, f := range []struct {
		field, value string
		required     bool
		max          int
	}{
		{"/shipping_address/name", a.Name, true, MaxAddressNameLength},
		{"/shipping_address/line1", a.Line1, true, MaxAddressLineLength},
		{"/shipping_address/line2", a.Line2, false, MaxAddressLineLength},
		{"/shipping_address/city", a.City, true, MaxCityLength},
		{"/shipping_address/region", a.Region, false, MaxRegionLength},
		{"/shipping_address/postal_code", a.PostalCode, true, MaxPostalCodeLength},
	} {
		if err := checkText(f.field, f.value, f.required, f.max); err != nil {
			return err
		}
	}
	if len(a.Country) != 2 || a.Country[0] < 'A' || a.Country[0] > 'Z' || a.Country[1] < 'A' || a.Country[1] > 'Z' {
		return invalid("/shipping_address/country", "must be an ISO 3166-1 alpha-2 code of two upper-case letters")
	}
	return nil
}

// checkText checks a line of text: valid UTF-8 without control characters,
// at most max characters, and not blank when required.
func checkText(field, v string, required bool, max int) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return invalid(field, "is required")
	case !utf8.ValidString(v):
		return invalid(field, "must be valid UTF-8")
	case utf8.RuneCountInString(v) > max:
		return invalid(field, fmt.Sprintf("must be at most %d characters", max))
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return invalid(field, "must not contain control characters")
	}
	return nil
}

// CheckEmail checks a bare email address (no display name), as
// notifications are sent to it.
func CheckEmail(email string) error {
	if email == "" || len(email) > MaxEmailLength {
		return invalid("/email", fmt.Sprintf("must be an email address of at most %d bytes", MaxEmailLength))
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return invalid("/email", "must be an email address such as ada@example.com")
	}
	return nil
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
