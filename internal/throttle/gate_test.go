package throttle

import "testing"

func TestGateCapsInAllAndPerKey(t *testing.T) {
	g := NewGate(3, 2)
	r1, ok1 := g.Acquire("a")
	_, ok2 := g.Acquire("a")
	if !ok1 || !ok2 {
		t.Fatal("the first two of a key refused")
	}
	if _, ok := g.Acquire("a"); ok {
		t.Fatal("a third for one key allowed")
	}
	if _, ok := g.Acquire("b"); !ok {
		t.Fatal("another key refused below the total")
	}
	if _, ok := g.Acquire("c"); ok {
		t.Fatal("a fourth in all allowed")
	}
	r1()
	r1() // a second release changes nothing
	if g.Held() != 2 {
		t.Fatalf("held %d after one release, want 2", g.Held())
	}
	if _, ok := g.Acquire("c"); !ok {
		t.Fatal("refused after a release")
	}
}
