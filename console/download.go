package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meekijk/meekijk/internal/i18n"
)

// The customer's download page, /hulp: the agent built for this desk (its
// relay address is baked in at build time, under the code signature) and
// for the visitor's system, with its size and SHA-256 so a careful
// customer or their IT can check what they run. Files come from the
// relay's -agents directory as they are: nothing is ever appended to a
// signed file.

//go:embed download.html
var downloadTemplate embed.FS

// agentFile names the files offered: agent-OS-ARCH, .exe on Windows.
var agentFile = regexp.MustCompile(`^agent-(windows|linux|darwin)-(amd64|arm64)(\.exe)?$`)

// offered reports whether a file of that name is offered, and for which
// system: the page lists and serves exactly these names.
func offered(name string) (goos, arch string, ok bool) {
	m := agentFile.FindStringSubmatch(name)
	if m == nil || (m[1] == "windows") != (m[3] != "") {
		return "", "", false
	}
	return m[1], m[2], true
}

// download is one agent file on offer.
type download struct {
	Name   string
	OS     string // windows, linux, darwin
	Arch   string // amd64, arm64
	Size   int64
	SHA256 string
}

// downloads lists and hashes the agent files; hashes are kept while a
// file's size and time stay the same, so a page view does not read
// 20 MB files.
type downloads struct {
	dir  string
	tmpl *template.Template
	cat  i18n.Catalog

	mu     sync.Mutex // guards hashes
	hashes map[string]hashed
}

type hashed struct {
	size int64
	mod  time.Time
	sum  string
}

func newDownloads(dir string) (*downloads, error) {
	cat, err := i18n.Load()
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("download.html").Funcs(template.FuncMap{
		"t":      func(string, ...string) string { return "" }, // replaced per request
		"osName": func(goos string) string { return osNames[goos] },
		"size":   func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) },
	}).ParseFS(downloadTemplate, "download.html")
	if err != nil {
		return nil, fmt.Errorf("console: download page: %w", err)
	}
	return &downloads{dir: dir, tmpl: tmpl, cat: cat, hashes: map[string]hashed{}}, nil
}

// list returns the agent files in the directory; none when it is not set.
func (d *downloads) list() ([]download, error) {
	if d.dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("console: agents directory: %w", err)
	}
	var out []download
	for _, e := range entries {
		goos, arch, ok := offered(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		sum, err := d.sum(e.Name(), info)
		if err != nil {
			return nil, err
		}
		out = append(out, download{Name: e.Name(), OS: goos, Arch: arch, Size: info.Size(), SHA256: sum})
	}
	return out, nil
}

func (d *downloads) sum(name string, info os.FileInfo) (string, error) {
	d.mu.Lock()
	h, ok := d.hashes[name]
	d.mu.Unlock()
	if ok && h.size == info.Size() && h.mod.Equal(info.ModTime()) {
		return h.sum, nil
	}
	f, err := os.Open(filepath.Join(d.dir, name))
	if err != nil {
		return "", fmt.Errorf("console: open %s: %w", name, err)
	}
	defer f.Close()
	s := sha256.New()
	if _, err := io.Copy(s, f); err != nil {
		return "", fmt.Errorf("console: read %s: %w", name, err)
	}
	h = hashed{size: info.Size(), mod: info.ModTime(), sum: hex.EncodeToString(s.Sum(nil))}
	d.mu.Lock()
	d.hashes[name] = h
	d.mu.Unlock()
	return h.sum, nil
}

// visitorOS reads the system from the browser's User-Agent: a hint for
// which file to offer first, never a gate (every file stays listed).
func visitorOS(ua string) (goos, arch string) {
	switch {
	case strings.Contains(ua, "Windows"):
		goos = "windows"
	case strings.Contains(ua, "Android"), strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"):
		return "", "" // phones and tablets cannot run the agent
	case strings.Contains(ua, "Macintosh"), strings.Contains(ua, "Mac OS X"):
		goos = "darwin"
	case strings.Contains(ua, "Linux"), strings.Contains(ua, "X11"):
		goos = "linux"
	}
	arch = "amd64"
	if strings.Contains(ua, "aarch64") || strings.Contains(ua, "ARM64") || strings.Contains(ua, "arm64") {
		arch = "arm64"
	}
	return goos, arch
}

// acceptLanguage picks the first of our languages in an Accept-Language
// header, by the visitor's order of preference.
func acceptLanguage(h string) i18n.Lang {
	best, bestQ := i18n.Default, -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if _, err := fmt.Sscanf(v, "%g", &q); err != nil {
				continue
			}
		}
		tag = strings.ToLower(tag)
		if len(tag) < 2 || q <= bestQ {
			continue
		}
		if l := i18n.Lang(tag[:2]); slices.Contains(i18n.Langs, l) {
			best, bestQ = l, q
		}
	}
	return best
}

type downloadView struct {
	Lang    string
	Langs   []string
	Company string
	OS      string // the visitor's system's name, "" when not known
	Offer   *download
	Others  []download
	Error   bool
}

// osNames are the systems as customers know them.
var osNames = map[string]string{"windows": "Windows", "darwin": "macOS", "linux": "Linux"}

// downloadPage serves /hulp.
func (c *console) downloadPage(w http.ResponseWriter, r *http.Request) error {
	lang := acceptLanguage(r.Header.Get("Accept-Language"))
	if l := r.URL.Query().Get("lang"); slices.Contains(i18n.Langs, i18n.Lang(l)) {
		lang = i18n.Lang(l)
	}
	view := downloadView{Lang: string(lang), Company: c.Company}
	for _, l := range i18n.Langs {
		view.Langs = append(view.Langs, string(l))
	}
	goos, arch := visitorOS(r.UserAgent())
	view.OS = osNames[goos]
	files, err := c.downloads.list()
	if err != nil {
		// The page still answers, honestly; the desk sees why in its log.
		c.log.Error("list agents for the download page", "err", err)
		view.Error = true
	}
	for i, f := range files {
		if f.OS == goos && (view.Offer == nil || f.Arch == arch) {
			view.Offer = &files[i]
		}
	}
	for _, f := range files {
		if view.Offer == nil || f.Name != view.Offer.Name {
			view.Others = append(view.Others, f)
		}
	}
	tmpl, err := c.downloads.tmpl.Clone()
	if err != nil {
		return err
	}
	tmpl.Funcs(template.FuncMap{
		"t": func(key string, params ...string) string { return c.downloads.cat.T(lang, key, params...) },
	})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept-Language, User-Agent")
	if err := tmpl.Execute(w, view); err != nil {
		c.log.Error("render download page", "err", err)
	}
	return nil
}

// downloadFile serves one agent file, only by a name the page offers.
func (c *console) downloadFile(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	if _, _, ok := offered(name); !ok || c.downloads.dir == "" {
		http.NotFound(w, r)
		return nil
	}
	f, err := os.Open(filepath.Join(c.downloads.dir, name))
	if err != nil {
		http.NotFound(w, r)
		return nil
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return nil
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	http.ServeContent(w, r, name, info.ModTime(), f)
	return nil
}
