package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// The CSRF token of a login is derived from its cookie token under a key
// derived from DATA/auth.key (Config.Key), and the store keeps only a keyed hash of it: a copy of the
// database yields neither the cookie nor the CSRF token of any login.

// csrfFor is the CSRF token of the login whose cookie token is cookie.
func (s *Service) csrfFor(cookie string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("meekijk-csrf:" + cookie))
}

// storedCSRF is what the store keeps of a CSRF token.
func (s *Service) storedCSRF(csrf string) string {
	return hex.EncodeToString(s.mac("meekijk-csrf-stored:" + csrf))
}

func (s *Service) mac(msg string) []byte {
	m := hmac.New(sha256.New, s.keys.csrf)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// cookieName is the login cookie's name. Under TLS it carries the
// __Host- prefix, which browsers accept only from a secure origin, with
// Path=/ and no Domain: a sibling subdomain or a plain-HTTP page on the
// same host cannot plant or overwrite it.
func (s *Service) cookieName() string {
	if s.cfg.SecureCookies {
		return "__Host-" + CookieName
	}
	return CookieName
}
