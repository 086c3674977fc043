package throttle

import (
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestSixthFailureInAMinuteIsThrottled(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	l := New(5, time.Minute, 100, c.now)
	for i := 0; i < 5; i++ {
		if ok, _ := l.Check("10.0.0.1"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		l.Fail("10.0.0.1")
		c.t = c.t.Add(time.Second)
	}
	ok, wait := l.Check("10.0.0.1")
	if ok {
		t.Fatal("sixth attempt allowed")
	}
	// The first failure was at +0s, now is +5s: it leaves the window at +60s.
	if wait != 55*time.Second {
		t.Errorf("retryAfter = %v, want 55s", wait)
	}
	if ok, _ := l.Check("10.0.0.2"); !ok {
		t.Error("another key is throttled too")
	}
	c.t = c.t.Add(55 * time.Second)
	if ok, _ := l.Check("10.0.0.1"); !ok {
		t.Error("still throttled after the window")
	}
}

func TestResetForgets(t *testing.T) {
	l := New(1, time.Minute, 10, nil)
	l.Fail("a")
	if ok, _ := l.Check("a"); ok {
		t.Fatal("not throttled after max failures")
	}
	l.Reset("a")
	if ok, _ := l.Check("a"); !ok {
		t.Fatal("throttled after Reset")
	}
}

func TestMemoryBoundFailsClosed(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	l := New(5, time.Minute, 3, c.now)
	for _, k := range []string{"a", "b", "c"} {
		l.Fail(k)
	}
	if ok, _ := l.Check("d"); ok {
		t.Fatal("new key allowed with the table full")
	}
	c.t = c.t.Add(2 * time.Minute)
	if ok, _ := l.Check("d"); !ok {
		t.Fatal("new key refused after old entries expired")
	}
}
