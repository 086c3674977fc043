package bench

import (
	"image"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// The recorder sees a click injected through XTEST, as the agent injects
// the technician's clicks.
func TestInputRecorderSeesInjectedClick(t *testing.T) {
	d := display(t)
	r, err := NewInputRecorder(d, image.Rect(300, 300, 400, 400))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	click := func(x, y int) {
		cmd := exec.Command("xdotool", "mousemove", strconv.Itoa(x), strconv.Itoa(y), "click", "1")
		cmd.Env = append(os.Environ(), "DISPLAY="+d)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xdotool: %v: %s", err, out)
		}
	}
	click(10, 10) // outside: must not count
	sent := time.Now()
	click(350, 350)
	select {
	case at := <-r.Press:
		if at.Before(sent) {
			t.Fatalf("press stamped %v before the click was sent", sent.Sub(at))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no press recorded")
	}
	select {
	case <-r.Press:
		t.Fatal("a click outside the window was recorded")
	case <-time.After(200 * time.Millisecond):
	}
}
