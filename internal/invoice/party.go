package invoice

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// CheckParty checks what Peppol needs of a party, naming the field at
// fault (prefixed with who, when given: "seller.companyId"). The seller needs all of
// it: a Belgian desk's KBO/BCE number and VAT number; a buyer needs an
// address and an electronic address (KBO/BCE number or VAT number).
func CheckParty(who string, p Party, seller bool) error {
	bad := func(field, format string, args ...any) error {
		if who != "" {
			field = who + "." + field
		}
		return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case strings.TrimSpace(p.Name) == "":
		return bad("name", "is required")
	case strings.TrimSpace(p.Street) == "":
		return bad("street", "is required")
	case strings.TrimSpace(p.Postcode) == "":
		return bad("postcode", "is required")
	case strings.TrimSpace(p.City) == "":
		return bad("city", "is required")
	case len(p.Country) != 2 || strings.ToUpper(p.Country) != p.Country:
		return bad("country", "must be a two-letter country code such as BE")
	case p.CompanyID != "" && !ValidKBO(p.CompanyID):
		return bad("companyId", "%q is not a KBO/BCE number (ten digits, 0 or 1 first, mod-97 check)", p.CompanyID)
	case seller && p.CompanyID == "":
		return bad("companyId", "is required: the desk's Peppol address is its KBO/BCE number")
	case seller && p.VATNumber == "":
		return bad("vatNumber", "is required")
	case p.CompanyID == "" && p.VATNumber == "":
		return bad("companyId", "a KBO/BCE number or a VAT number is required: it is the customer's Peppol address")
	case p.VATNumber != "" && p.Country == "BE" && p.VATNumber != "BE"+p.CompanyID && p.CompanyID != "":
		return bad("vatNumber", "%q is not BE followed by the KBO/BCE number %s", p.VATNumber, p.CompanyID)
	}
	return nil
}

// FieldError names the field of a document that is wrong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// ValidKBO reports whether n is a Belgian enterprise number: ten digits,
// the first 0 or 1, the last two 97 minus the first eight modulo 97.
func ValidKBO(n string) bool {
	if len(n) != 10 || (n[0] != '0' && n[0] != '1') {
		return false
	}
	v, err1 := strconv.Atoi(n[:8])
	check, err2 := strconv.Atoi(n[8:])
	return err1 == nil && err2 == nil && 97-v%97 == check
}

// ValidIBAN reports whether s (spaces allowed) is an IBAN with a correct
// ISO 13616 check: the country and check digits moved to the end, letters
// as numbers, modulo 97 is 1.
func ValidIBAN(s string) bool {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	var digits strings.Builder
	for _, r := range s[4:] + s[:4] {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			fmt.Fprint(&digits, int(r-'A'+10))
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(digits.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}
