package peerhttp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// bg is the context of the sends that nothing cancels.
var bg = context.Background()

// gateWriter records every Write; each one waits for a value on release
// (unless release is nil), or fails once closed.
type gateWriter struct {
	release chan struct{}
	closed  chan struct{}
	started chan struct{} // receives once per Write, as it starts

	mu     sync.Mutex // guards writes
	writes []string
}

func newGateWriter(gated bool) *gateWriter {
	w := &gateWriter{closed: make(chan struct{}), started: make(chan struct{}, 100)}
	if gated {
		w.release = make(chan struct{})
	}
	return w
}

func (w *gateWriter) Write(p []byte) (int, error) {
	w.started <- struct{}{}
	if w.release != nil {
		select {
		case <-w.release:
		case <-w.closed:
			return 0, errors.New("closed")
		}
	}
	w.mu.Lock()
	w.writes = append(w.writes, string(p))
	w.mu.Unlock()
	return len(p), nil
}

func (w *gateWriter) got() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.writes...)
}

// waitWrites waits until n writes were made.
func (w *gateWriter) waitWrites(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := w.got(); len(got) >= n {
			return got
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d writes after 5 s, want %d: %q", len(w.got()), n, w.got())
	return nil
}

// TestFrameWriterGathers checks that frames added while a write is under
// way leave together in the next write, that their senders do not wait for
// it, and that frames added without flush wait for a flush.
func TestFrameWriterGathers(t *testing.T) {
	w := newGateWriter(true)
	fw := newFrameWriter(w, 0, serverRounds, time.Minute, func(error) {})
	done := make(chan error)
	go func() { done <- fw.send(bg, []byte("h1"), []byte("a"), true) }()
	<-w.started // the first write is under way, and blocked
	for _, f := range []string{"b", "c"} {
		if err := fw.send(bg, []byte("h"), []byte(f), true); err != nil {
			t.Fatalf("send %s during a write: %v", f, err)
		}
	}
	w.release <- struct{}{} // the first write
	<-w.started
	w.release <- struct{}{} // the second
	if err := <-done; err != nil {
		t.Fatalf("first send: %v", err)
	}
	if got, want := strings.Join(w.got(), "|"), "h1a|hbhc"; got != want {
		t.Errorf("writes %q, want %q", got, want)
	}

	// Without flush, frames wait; flush sends them in one write.
	for _, f := range []string{"d", "e"} {
		if err := fw.send(bg, []byte("h"), []byte(f), false); err != nil {
			t.Fatalf("send %s: %v", f, err)
		}
	}
	if n := len(w.got()); n != 2 {
		t.Fatalf("%d writes after sends without flush, want 2", n)
	}
	go func() { done <- fw.flush() }()
	<-w.started
	w.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatalf("flush: %v", err)
	}
	if got := w.got(); len(got) != 3 || got[2] != "hdhe" {
		t.Errorf("writes %q, want a third write %q", got, "hdhe")
	}
	if err := fw.flush(); err != nil || len(w.got()) != 3 {
		t.Errorf("flush with nothing waiting: err %v, %d writes (want nil, 3)", err, len(w.got()))
	}
}

// TestFrameWriterHandsOff checks that the goroutine that started writing
// makes at most its rounds of writes and leaves the rest to another.
func TestFrameWriterHandsOff(t *testing.T) {
	w := newGateWriter(true)
	fw := newFrameWriter(w, 0, serverRounds, time.Minute, func(error) {})
	done := make(chan error)
	go func() { done <- fw.send(bg, nil, []byte("a"), true) }()
	for i, f := range []string{"b", "c"} {
		<-w.started // write i+1 is under way
		if err := fw.send(bg, nil, []byte(f), true); err != nil {
			t.Fatal(err)
		}
		w.release <- struct{}{}
		if i == serverRounds-1 {
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("first send: %v", err)
	}
	// The first sender is gone; "c" is written by another goroutine.
	<-w.started
	w.release <- struct{}{}
	if got, want := strings.Join(w.waitWrites(t, 3), "|"), "a|b|c"; got != want {
		t.Errorf("writes %q, want %q", got, want)
	}
}

// TestFrameWriterHandOffClosing checks that the rest of a caller's writes
// goes to a goroutine its Pool counts in (start), and that when the Pool is
// closing, so that none may start, the caller writes the rest itself
// rather than leave a goroutine behind Close.
func TestFrameWriterHandOffClosing(t *testing.T) {
	for _, closing := range []bool{false, true} {
		w := newGateWriter(true)
		fw := newFrameWriter(w, 0, clientRounds, time.Minute, func(error) {})
		started := 0
		fw.start = func(f func()) bool {
			started++
			if closing {
				return false
			}
			go f()
			return true
		}
		done := make(chan error)
		go func() { done <- fw.send(bg, nil, []byte("a"), true) }()
		<-w.started // "a" is being written
		if err := fw.send(bg, nil, []byte("b"), true); err != nil {
			t.Fatal(err)
		}
		w.release <- struct{}{}
		<-w.started // "b" is being written, by a goroutine or by a's caller
		select {
		case err := <-done:
			if closing {
				t.Errorf("closing: the first send returned (%v) before writing the rest", err)
			}
		case <-time.After(100 * time.Millisecond):
			if !closing {
				t.Errorf("the first send did not return while another goroutine wrote the rest")
			}
		}
		w.release <- struct{}{}
		if closing {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if got, want := strings.Join(w.waitWrites(t, 2), "|"), "a|b"; got != want {
			t.Errorf("closing %v: writes %q, want %q", closing, got, want)
		}
		if started != 1 {
			t.Errorf("closing %v: start called %d times, want 1", closing, started)
		}
	}
}

// TestFrameWriterBusy checks that a client's frameWriter refuses a frame
// past its limit while a write is under way, and still takes one that fits.
func TestFrameWriterBusy(t *testing.T) {
	w := newGateWriter(true)
	fw := newFrameWriter(w, 10, serverRounds, time.Minute, func(error) {})
	done := make(chan error)
	go func() { done <- fw.send(bg, nil, []byte(strings.Repeat("x", 64)), true) }() // larger than limit, alone: sent
	<-w.started
	if err := fw.send(bg, nil, []byte("12345678"), true); err != nil {
		t.Fatalf("a frame under the limit: %v", err)
	}
	if err := fw.send(bg, nil, []byte("123"), true); !errors.Is(err, errStreamBusy) {
		t.Fatalf("a frame past the limit: err %v, want errStreamBusy", err)
	}
	w.release <- struct{}{}
	<-w.started
	w.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := w.got(); len(got) != 2 || got[1] != "12345678" {
		t.Errorf("writes %q, want the refused frame left out", got)
	}
}

// TestFrameWriterExpires checks that a write that blocks past the timeout
// runs expire, and that once a write failed every send fails.
func TestFrameWriterExpires(t *testing.T) {
	w := newGateWriter(true)
	fw := newFrameWriter(w, 0, serverRounds, 50*time.Millisecond, func(error) { close(w.closed) })
	start := time.Now()
	err := fw.send(bg, nil, []byte("a"), true)
	if err == nil {
		t.Fatal("a write that never ends succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the blocked write ended after %v, want about 50ms", d)
	}
	if err2 := fw.send(bg, nil, []byte("b"), true); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("send after a failed write: %v, want %v", err2, err)
	}
	if err2 := fw.flush(); err2 == nil {
		t.Errorf("flush after a failed write succeeded")
	}
}

// TestFrameWriterWaitBelow checks that waitBelow holds its caller while a
// write is under way and more than n bytes wait, and lets it go once the
// write ends, or fails.
func TestFrameWriterWaitBelow(t *testing.T) {
	for _, fail := range []bool{false, true} {
		w := newGateWriter(true)
		fw := newFrameWriter(w, 0, serverRounds, time.Minute, func(error) {})
		go func() { _ = fw.send(bg, nil, []byte("a"), true) }()
		<-w.started
		if err := fw.send(bg, nil, []byte("12345"), false); err != nil {
			t.Fatal(err)
		}
		fw.waitBelow(5) // 5 bytes wait: not more than 5
		released := make(chan struct{})
		go func() {
			fw.waitBelow(4)
			close(released)
		}()
		select {
		case <-released:
			t.Fatal("waitBelow(4) returned with 5 bytes waiting behind a write")
		case <-time.After(50 * time.Millisecond):
		}
		if fail {
			close(w.closed)
		} else {
			w.release <- struct{}{} // the first write; the second takes the 5 bytes
			<-w.started
			w.release <- struct{}{}
		}
		select {
		case <-released:
		case <-time.After(5 * time.Second):
			t.Fatalf("waitBelow still waiting 5 s after the write ended (failed: %v)", fail)
		}
	}
}

// TestFrameWriterLargeWriteKeepsFrames checks that a write larger than
// the buffer kept for reuse does not leave the next buffer sharing an array
// with the one being written: each frame is written once, in order. (Found
// by review: "x" was lost and "y" written twice.)
func TestFrameWriterLargeWriteKeepsFrames(t *testing.T) {
	w := newGateWriter(true)
	fw := newFrameWriter(w, 0, -1, time.Minute, func(error) {})
	done := make(chan error)
	go func() { done <- fw.send(bg, []byte("aaaa"), nil, true) }()
	big := strings.Repeat("Z", streamMaxSpare+1)
	for _, f := range []string{"bb", big, "x", "y"} {
		<-w.started
		if err := fw.send(bg, []byte(f), nil, true); err != nil {
			t.Fatal(err)
		}
		w.release <- struct{}{}
	}
	<-w.started
	w.release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := w.got()
	for i := range got {
		if got[i] == big {
			got[i] = "big"
		}
	}
	if g, want := strings.Join(got, "|"), "aaaa|bb|big|x|y"; g != want {
		t.Errorf("writes %q, want %q", g, want)
	}
}

// TestFrameWriterHandOffFailure checks that a write that fails on the
// goroutine a caller left the rest to reaches expire, as no caller hears
// of it.
func TestFrameWriterHandOffFailure(t *testing.T) {
	w := newGateWriter(true)
	expired := make(chan error, 1)
	fw := newFrameWriter(w, 0, 1, time.Minute, func(err error) { expired <- err })
	done := make(chan error)
	go func() { done <- fw.send(bg, []byte("a"), nil, true) }()
	<-w.started
	if err := fw.send(bg, []byte("b"), nil, true); err != nil {
		t.Fatal(err)
	}
	w.release <- struct{}{} // "a" written; "b" is left to a goroutine
	if err := <-done; err != nil {
		t.Fatalf("first send: %v", err)
	}
	<-w.started
	close(w.closed) // "b" fails
	select {
	case err := <-expired:
		if err == nil {
			t.Error("expire got a nil error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a failed hand-off write never reached expire")
	}
	if err := fw.send(bg, []byte("c"), nil, true); err == nil {
		t.Error("send after a failed write succeeded")
	}
}
