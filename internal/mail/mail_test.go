package mail_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/internal/mail"
	"github.com/meekijk/meekijk/internal/mail/mailtest"
	"github.com/meekijk/meekijk/internal/testrig"
)

// TestKeyFile: the key is created readable by its owner only, seals and
// opens the password, and a key file others may read is tightened to 0600
// (as every key privfile keeps), one of the wrong size refused.
func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	k, err := mail.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, mail.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", fi.Mode(), err)
	}
	sealed := k.Seal("geheim")
	if strings.Contains(sealed, "geheim") || sealed == k.Seal("geheim") {
		t.Errorf("sealed %q", sealed)
	}
	again, err := mail.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open(sealed); err != nil || got != "geheim" {
		t.Errorf("open: %q %v", got, err)
	}
	other, _ := mail.LoadKey(t.TempDir())
	if _, err := other.Open(sealed); err == nil {
		t.Error("another data directory's key opened the password")
	}
	if err := os.Chmod(filepath.Join(dir, mail.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.LoadKey(dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, mail.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("a loose key file was left %v (%v), want 0600", fi.Mode(), err)
	}
	if err := os.WriteFile(filepath.Join(dir, mail.KeyFile), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.LoadKey(dir); err == nil {
		t.Error("a 5-byte key was used")
	}
}

// TestSendWithSTARTTLS: a message goes through STARTTLS and AUTH PLAIN to
// a real SMTP server on loopback, with its headers intact; a wrong
// password is an error naming the login.
func TestSendWithSTARTTLS(t *testing.T) {
	cert, pool, _, _ := testrig.SelfSigned(t, "localhost")
	srv := mailtest.Start(t, "127.0.0.1:0", "desk", "geheim", &tls.Config{Certificates: []tls.Certificate{cert}})
	_, portText, _ := net.SplitHostPort(srv.Addr)
	port, _ := strconv.Atoi(portText)
	s := mail.Settings{Host: "localhost", Port: port, StartTLS: true, User: "desk", Password: "geheim", From: "support@desk.example",
		PublicURL: "https://support.desk.example"}
	msg, err := mail.Compose(mail.Message{From: s.From, To: "julie@klant.example", Subject: "Uw aanvraag 2026-000001 — ontvangen",
		Body: "Beste Julie,\nÇa marche.", Lang: "nl", ID: "abc@meekijk", Date: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	sender := mail.Sender{TLS: &tls.Config{RootCAs: pool}, Timeout: 10 * time.Second}
	// The server resolves "localhost"; keep to 127.0.0.1 by dialing it.
	s.Host = "127.0.0.1"
	sender.TLS.ServerName = "localhost"
	if err := sender.Send(context.Background(), s, "julie@klant.example", msg); err != nil {
		t.Fatal(err)
	}
	raw := <-srv.Received
	for _, want := range []string{"Subject: =?utf-8?q?Uw_aanvraag_2026-000001_=E2=80=94_ontvangen?=", "Content-Language: nl",
		"Message-ID: <abc@meekijk>", "=C3=87a marche."} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("%q missing from\n%s", want, raw)
		}
	}
	s.Password = "fout"
	if err := sender.Send(context.Background(), s, "julie@klant.example", msg); err == nil || !strings.Contains(err.Error(), "log in") {
		t.Errorf("a wrong password: %v", err)
	}
}
