package console

import (
	"io/fs"
	"net/http"

	"github.com/meekijk/meekijk/internal/i18n"
)

// The customer portal's page (issue 21): one page at /portaal/ whose
// plain-JavaScript modules (assets/portal/) call the portal's API
// (portal.go). The page loads the portal's own modules and the console's
// generic ones (dom, i18n, forms, api), none of which names a staff route;
// it is served with the same security headers and CSP as the console.

// portalPages registers the portal's page, the landing of a one-time
// sign-in link, and the texts the page loads.
func portalPages(public func(string, http.Handler), assets fs.FS) error {
	catalog, err := i18n.PageJSON("portal.", "ticket.", "reason.")
	if err != nil {
		return err
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The page holds nothing personal, but a cached copy would
		// outlive an upgrade of its scripts' names.
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, assets, "portal/index.html")
	})
	public("GET /portaal/{$}", page)
	// The mailed link: the same page, whose script spends the token and
	// takes it out of the address bar and the history.
	public("GET /portaal/in/{token}", page)
	public("GET /portaal", http.RedirectHandler("/portaal/", http.StatusMovedPermanently))
	public("GET /portaal/i18n.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(catalog)
	}))
	return nil
}
