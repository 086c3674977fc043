package app

import (
	"image"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meekijk/meekijk/agent/capture"
	"github.com/meekijk/meekijk/agent/localui"
	"github.com/meekijk/meekijk/internal/i18n"
	"github.com/meekijk/meekijk/internal/protocol"
)

// The customer sees every screen and picks the one to share; a technician's
// request to see another is a question to the customer, and only for a
// screen that exists and is not already shared.
func TestScreensAreTheCustomersChoice(t *testing.T) {
	two := func() []capture.Display {
		return []capture.Display{{Index: 0, Bounds: image.Rect(0, 0, 1920, 1080)}, {Index: 1, Bounds: image.Rect(1920, 0, 3200, 1024)}}
	}
	a, err := New(Config{RelayURL: "http://127.0.0.1:1", Lang: i18n.NL, Displays: two}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(a.uploadDir) })
	if n := len(a.state.Screens); n != 2 || a.state.Screens[1].Name != "2 (1280×1024)" {
		t.Fatalf("screens on the page: %+v", a.state.Screens)
	}
	// Before Allow, picking a screen only chooses what will be shared.
	a.chooseScreen("1")
	if a.cfg.Display != 1 || a.state.Screen != 1 {
		t.Errorf("chose screen 1, sharing %d (page %d)", a.cfg.Display, a.state.Screen)
	}
	a.chooseScreen("7")
	a.chooseScreen("x")
	if a.cfg.Display != 1 {
		t.Errorf("a screen that does not exist was chosen: %d", a.cfg.Display)
	}
	a.state.Technician = "Jan"
	for _, idx := range []int{1, 5, -1} { // shared already, missing, nonsense
		a.askScreen(idx)
	}
	if len(a.questions) != 0 {
		t.Fatalf("asked %d questions for screens that cannot be switched to", len(a.questions))
	}
	a.askScreen(0)
	if len(a.questions) != 1 || a.state.Prompt == nil || a.state.Prompt.Kind != localui.PromptScreen ||
		!strings.Contains(a.state.Prompt.Lines[0], "Jan") || !strings.Contains(a.state.Prompt.Lines[0], "1 (1920×1080)") {
		t.Fatalf("question %+v", a.state.Prompt)
	}
}

// A question on screen is worded again when the customer switches the
// page's language, whatever kind it is: the customer answers what they
// can read.
func TestPromptsFollowTheLanguage(t *testing.T) {
	two := func() []capture.Display {
		return []capture.Display{{Index: 0, Bounds: image.Rect(0, 0, 1920, 1080)}, {Index: 1, Bounds: image.Rect(1920, 0, 3200, 1024)}}
	}
	a, err := New(Config{RelayURL: "http://127.0.0.1:1", Lang: i18n.NL, Displays: two, Display: 1},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(a.uploadDir) })
	a.state.Technician = "Jan"
	a.askScreen(0)
	a.joined = &protocol.Joined{}
	a.askReconfirm(time.Now())
	want := map[i18n.Lang][2]string{ // reconfirm first: it expires
		i18n.NL: {"Wilt u uw scherm blijven delen met Jan?", "Jan vraagt om scherm 1 (1920×1080) te zien."},
		i18n.FR: {"Voulez-vous continuer à partager votre écran avec Jan ?", "Jan demande à voir l'écran 1 (1920×1080)."},
	}
	for _, lang := range []i18n.Lang{i18n.NL, i18n.FR} {
		if lang != i18n.NL {
			a.onAction(t.Context(), localui.Action{Kind: localui.ActionLang, Value: string(lang)})
		}
		if len(a.questions) != 2 {
			t.Fatalf("%d questions, want 2", len(a.questions))
		}
		for i, q := range a.questions {
			if got := q.prompt.Lines[0]; got != want[lang][i] {
				t.Errorf("%s: question %d reads %q, want %q", lang, i, got, want[lang][i])
			}
		}
		if a.state.Prompt == nil || a.state.Prompt.Lines[0] != want[lang][0] {
			t.Errorf("%s: the page shows %+v", lang, a.state.Prompt)
		}
	}
}
