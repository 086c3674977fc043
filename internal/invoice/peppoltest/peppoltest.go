// Package peppoltest checks UBL documents against the official Peppol BIS
// Billing 3.0 rules for tests: the CEN EN 16931 and PEPPOL Schematrons in
// ../shared/peppol (next to the repository), run with Saxon-HE from
// Debian's libsaxonhe-java (scripts/deps.sh). Java starts slowly, so the
// Schematrons are compiled to XSLT once and cached, and every document of
// a call is validated in one java run per Schematron.
package peppoltest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// saxonJar is where Debian's libsaxonhe-java puts Saxon-HE.
const saxonJar = "/usr/share/java/Saxon-HE.jar"

// Failure is one failed assert of a Schematron.
type Failure struct {
	Schematron string // "CEN" or "PEPPOL"
	ID         string // the rule, "BR-CO-15"
	Flag       string // "fatal" or "warning"
	Text       string
}

func (f Failure) String() string {
	return fmt.Sprintf("%s %s [%s] %s", f.Schematron, f.ID, f.Flag, f.Text)
}

// Report is what both Schematrons said of one document.
type Report struct {
	Failures []Failure
}

// Fatal is the failures flagged fatal: a document with any is not a valid
// Peppol BIS 3.0 invoice.
func (r Report) Fatal() []Failure {
	return slices.DeleteFunc(slices.Clone(r.Failures), func(f Failure) bool { return f.Flag != "fatal" })
}

// Validator runs the Schematrons.
type Validator struct {
	dir  string // ../shared/peppol
	xsls map[string]string
}

// New finds the rules and java, compiling the Schematrons into the user's
// cache (keyed by their content, so new rules compile again). It skips
// the test, saying why, when java, Saxon or the rules are missing.
func New(t testing.TB) *Validator {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := rulesDir(root)
	if _, err := os.Stat(filepath.Join(dir, "PEPPOL-EN16931-UBL.sch")); err != nil {
		t.Skipf("peppoltest: no Peppol rules at %s (%v; set %s): the invoices are not validated", dir, err, rulesEnv)
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("peppoltest: no java (scripts/deps.sh installs default-jre-headless): the invoices are not validated")
	}
	if _, err := os.Stat(saxonJar); err != nil {
		t.Skipf("peppoltest: no Saxon at %s (scripts/deps.sh installs libsaxonhe-java): the invoices are not validated", saxonJar)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	v := &Validator{dir: dir, xsls: map[string]string{}}
	for name, sch := range map[string]string{"CEN": "CEN-EN16931-UBL.sch", "PEPPOL": "PEPPOL-EN16931-UBL.sch"} {
		if v.xsls[name], err = compile(t, dir, sch, filepath.Join(cache, "meekijk-peppol")); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// rulesEnv names the rules' folder when it is not ../shared/peppol.
const rulesEnv = "MEEKIJK_PEPPOL_RULES"

// rulesDir is $MEEKIJK_PEPPOL_RULES, else ../shared/peppol beside the
// repository, else beside its main checkout when root is a git worktree
// elsewhere (git rev-parse --git-common-dir is the main checkout's .git).
func rulesDir(root string) string {
	if dir := os.Getenv(rulesEnv); dir != "" {
		return dir
	}
	dir := filepath.Join(root, "..", "shared", "peppol")
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	out, err := exec.Command("git", "-C", root, "rev-parse", "--path-format=absolute", "--git-common-dir").Output()
	if err != nil {
		return dir
	}
	return filepath.Join(filepath.Dir(filepath.Dir(strings.TrimSpace(string(out)))), "shared", "peppol")
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("peppoltest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// compile turns a Schematron into XSLT with SchXslt, once per content.
func compile(t testing.TB, dir, sch, cache string) (string, error) {
	body, err := os.ReadFile(filepath.Join(dir, sch))
	if err != nil {
		return "", err
	}
	pipeline, err := os.ReadFile(filepath.Join(dir, "schxslt", "pipeline-for-svrl.xsl"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(body, pipeline...))
	out := filepath.Join(cache, strings.TrimSuffix(sch, ".sch")+"-"+hex.EncodeToString(sum[:8])+".xsl")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	// Another test binary may compile at the same time: write aside and
	// rename, so no one reads half a file.
	tmp, err := os.CreateTemp(cache, "compiling-*.xsl")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	t.Logf("peppoltest: compiling %s (once; cached in %s)", sch, cache)
	if err := saxon(filepath.Join(dir, sch), filepath.Join(dir, "schxslt", "pipeline-for-svrl.xsl"), tmp.Name()); err != nil {
		return "", fmt.Errorf("peppoltest: compile %s: %w", sch, err)
	}
	return out, os.Rename(tmp.Name(), out)
}

func saxon(source, xsl, output string) error {
	cmd := exec.Command("java", "-cp", saxonJar, "net.sf.saxon.Transform", "-s:"+source, "-xsl:"+xsl, "-o:"+output)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, stderr.String())
	}
	return nil
}

// Validate checks every document (name -> XML) against both Schematrons,
// in one java run each, and returns each document's report.
func (v *Validator) Validate(t testing.TB, docs map[string][]byte) map[string]Report {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, doc := range docs {
		if err := os.WriteFile(filepath.Join(in, name+".xml"), doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reports := map[string]Report{}
	for _, name := range []string{"CEN", "PEPPOL"} {
		out := filepath.Join(filepath.Dir(in), strings.ToLower(name))
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		// Saxon applies the stylesheet to every file of a source directory.
		if err := saxon(in, v.xsls[name], out); err != nil {
			t.Fatalf("peppoltest: %s: %v", name, err)
		}
		for doc := range docs {
			svrl, err := os.ReadFile(filepath.Join(out, doc+".xml"))
			if err != nil {
				t.Fatalf("peppoltest: %s report of %s: %v", name, doc, err)
			}
			fs, err := failures(name, svrl)
			if err != nil {
				t.Fatalf("peppoltest: %s report of %s: %v", name, doc, err)
			}
			r := reports[doc]
			r.Failures = append(r.Failures, fs...)
			reports[doc] = r
		}
	}
	return reports
}

// failures reads the failed asserts of an SVRL report.
func failures(schematron string, svrl []byte) ([]Failure, error) {
	var report struct {
		Failed []struct {
			ID   string `xml:"id,attr"`
			Flag string `xml:"flag,attr"`
			Text string `xml:"text"`
		} `xml:"failed-assert"`
	}
	if err := xml.Unmarshal(svrl, &report); err != nil {
		return nil, err
	}
	out := []Failure{}
	for _, f := range report.Failed {
		out = append(out, Failure{Schematron: schematron, ID: f.ID, Flag: f.Flag, Text: strings.TrimSpace(f.Text)})
	}
	return out, nil
}
