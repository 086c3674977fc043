package console_test

import (
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/meekijk/meekijk/internal/i18n"
)

// The portal's page answers at /portaal/, at a sign-in link's landing and
// without its slash; its catalog holds the portal's texts and the ticket
// words, never the console's.
func TestPortalPageAndCatalog(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/portaal/", "/portaal/in/c29tZS10b2tlbg", "/portaal"} {
		a := e.do(client{}, "GET", p, "")
		if a.status != 200 || !strings.Contains(string(a.body), `src="/assets/portal/portal.js"`) {
			t.Errorf("GET %s: %d %.200s", p, a.status, a.body)
		}
		if strings.Contains(string(a.body), "/assets/app.js") {
			t.Errorf("GET %s loads the console's application", p)
		}
	}
	a := e.do(client{}, "GET", "/portaal/i18n.json", "")
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Fatalf("catalog: %d %q", a.status, a.header.Get("Content-Type"))
	}
	var cat map[string]map[string]string
	a.decode(t, &cat)
	if cat["portal.title"] == nil {
		t.Fatal("the portal's catalog has no portal.title")
	}
	for k := range cat {
		if !strings.HasPrefix(k, "portal.") && !strings.HasPrefix(k, "ticket.") && !strings.HasPrefix(k, "reason.") {
			t.Errorf("the portal's catalog holds %q", k)
		}
	}
}

var importFrom = regexp.MustCompile(`(?m)^import .* from '([^']+)';$`)

// The portal's scripts and the console modules they import: only the
// generic ones (DOM, texts, forms, the API call), none of which names a
// staff route; and every text they ask for by a literal key is in the
// catalog (in all three languages, as the i18n test checks).
func TestPortalScriptsStayOffStaffRoutes(t *testing.T) {
	allowed := []string{"portal/portal.js", "portal/papi.js", "portal/tickets.js", "portal/hours.js",
		"dom.js", "i18n.js", "forms.js", "api.js", "common.js"}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	textKey := regexp.MustCompile(`\bt\('([a-z_.]+)'[,)]`)
	seen := map[string]bool{}
	queue := []string{"portal/portal.js"}
	for len(queue) > 0 {
		file := queue[0]
		queue = queue[1:]
		if seen[file] {
			continue
		}
		seen[file] = true
		if !slices.Contains(allowed, file) {
			t.Errorf("the portal loads %s", file)
			continue
		}
		b, err := os.ReadFile(path.Join("assets", file))
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		// api.js holds the console API's root; no other module may name it.
		if file != "api.js" && strings.Contains(src, "/api/v1") {
			t.Errorf("%s names the console's API", file)
		}
		for _, m := range importFrom.FindAllStringSubmatch(src, -1) {
			queue = append(queue, path.Join(path.Dir(file), m[1]))
		}
		if strings.HasPrefix(file, "portal/") {
			for _, m := range textKey.FindAllStringSubmatch(src, -1) {
				if cat["portal."+m[1]] == nil {
					t.Errorf("%s asks for portal.%s, which the catalog lacks", file, m[1])
				}
			}
		}
	}
	if !seen["portal/hours.js"] || !seen["dom.js"] {
		t.Errorf("imports not followed: %v", seen)
	}
}
