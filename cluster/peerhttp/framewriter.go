package peerhttp

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// errStreamBusy refuses a frame while a stream's write is under way and
// streamMaxGathered bytes already wait: the request goes over HTTP.
var errStreamBusy = errors.New("stream busy")

const (
	// streamMaxGathered bounds the bytes a client's stream gathers while a
	// write is under way (a single larger frame is still sent, alone).
	streamMaxGathered = 4 << 20

	// streamMaxSpare is the largest write buffer a stream keeps for reuse.
	streamMaxSpare = 1 << 20

	// clientRounds and serverRounds are how many writes the goroutine
	// that started writing makes before it leaves the rest to a new
	// goroutine, so that under a steady load no caller is kept writing
	// other callers' frames: a client's caller writes once, with its own
	// frame in; a member's answering goroutine, whose reply is sent, twice.
	clientRounds = 1
	serverRounds = 2
)

// errWriteTimedOut is why a stream broke when one write took its timeout.
var errWriteTimedOut = errors.New("write timed out")

// frameWriter sends the frames of many goroutines on one connection, and
// gathers the frames added while a write is under way into the next write
// (a group commit). A loopback write costs this machine tens of
// microseconds, most of it the receiver's TCP path, which the writer runs,
// and the wake-up of its reader; under load a stream now sends many frames
// per write instead of one each. Whoever adds a frame that is to be flushed
// while no write is under way writes, at most rounds times, and leaves the
// rest to a new goroutine; the others add theirs and go.
//
// A write that blocks, because the other side stopped reading, is ended by
// expire, which must close the connection: after timeout, or when the
// context of the caller that is writing ends. expire also learns of a
// write that failed on the goroutine the rest was left to.
type frameWriter struct {
	w       io.Writer
	limit   int // bytes gathered during a write past which send refuses a frame; 0: none
	rounds  int // writes a caller makes before it leaves the rest to a goroutine
	timeout time.Duration
	expire  func(error)
	timer   *time.Timer // runs expire; armed while a write is under way
	// start, if not nil, runs the goroutine the rest is left to: one that
	// Pool.Close waits for (streamSet.start). It reports false when the
	// Pool is closing; the caller then writes the rest itself.
	start func(func()) bool

	mu      sync.Mutex // guards buf, spare, writing and err
	written sync.Cond  // on mu; broadcast after each write
	buf     []byte     // frames not yet written
	spare   []byte     // the buffer of the last write, for reuse; never buf's array
	writing bool       // a goroutine is writing buf out
	err     error      // why a write failed; then nothing more is sent
}

// newFrameWriter returns a frameWriter on w that refuses a frame when a
// write is under way and limit bytes wait (0: never), and whose callers
// write at most rounds times.
func newFrameWriter(w io.Writer, limit, rounds int, timeout time.Duration, expire func(error)) *frameWriter {
	fw := &frameWriter{w: w, limit: limit, rounds: rounds, timeout: timeout, expire: expire}
	fw.written.L = &fw.mu
	fw.timer = time.AfterFunc(time.Hour, func() { expire(errWriteTimedOut) })
	fw.timer.Stop()
	return fw
}

// send adds the frame hdr+body and, if flush and no write is under way,
// writes out everything gathered; a write it makes ends, breaking the
// connection, if ctx ends first (or at the timeout). It returns the
// error of a failed write (this one's or an earlier one's), or
// errStreamBusy, adding nothing, when a write is under way and fw's limit
// of bytes already wait.
func (fw *frameWriter) send(ctx context.Context, hdr, body []byte, flush bool) error {
	fw.mu.Lock()
	if fw.err != nil {
		err := fw.err
		fw.mu.Unlock()
		return err
	}
	if fw.limit > 0 && fw.writing && len(fw.buf) > 0 && len(fw.buf)+len(hdr)+len(body) > fw.limit {
		fw.mu.Unlock()
		return errStreamBusy
	}
	fw.buf = append(fw.buf, hdr...)
	fw.buf = append(fw.buf, body...)
	if fw.writing || !flush {
		fw.mu.Unlock()
		return nil
	}
	fw.writing = true
	fw.mu.Unlock()
	return fw.writeFor(ctx)
}

// flush writes out what was gathered, unless a write is under way (which
// writes it).
func (fw *frameWriter) flush() error {
	fw.mu.Lock()
	if fw.writing || len(fw.buf) == 0 || fw.err != nil {
		err := fw.err
		fw.mu.Unlock()
		return err
	}
	fw.writing = true
	fw.mu.Unlock()
	return fw.writeFor(context.Background())
}

// writeFor runs writeOut for a caller, whose ctx bounds the writes. Its caller set writing.
func (fw *frameWriter) writeFor(ctx context.Context) error {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { fw.expire(context.Cause(ctx)) })
		defer stop()
	}
	return fw.writeOut(fw.rounds)
}

// waitBelow waits while a write is under way and more than n bytes wait
// behind it: a member's stream reader calls it before reading on, so that a
// peer that sends requests and reads no answers holds up its own stream
// rather than growing the member's memory (the blocked write ends at the
// timeout).
func (fw *frameWriter) waitBelow(n int) {
	fw.mu.Lock()
	for fw.writing && len(fw.buf) > n && fw.err == nil {
		fw.written.Wait()
	}
	fw.mu.Unlock()
}

// writeOut writes the gathered frames until none wait, making at most
// rounds writes (no limit if rounds < 0) before it hands the rest to a new
// goroutine. Its caller set writing.
func (fw *frameWriter) writeOut(rounds int) error {
	for ; ; rounds-- {
		fw.mu.Lock()
		if len(fw.buf) == 0 {
			fw.writing = false
			fw.mu.Unlock()
			return nil
		}
		if rounds == 0 {
			fw.mu.Unlock()
			// It ends when nothing waits, or when the write fails (the
			// timer's expire, or Pool.Close, closes the connection), and
			// then tells expire, as no caller will hear of it.
			rest := func() {
				if err := fw.writeOut(-1); err != nil {
					fw.expire(err)
				}
			}
			if fw.start == nil {
				go rest()
				return nil
			}
			if fw.start(rest) {
				return nil
			}
			rounds = -1 // closing: write the rest here, on a connection that is closing too
			continue
		}
		b := fw.buf
		fw.buf = fw.spare[:0]
		fw.spare = nil // buf's array now: written to while b is written
		fw.mu.Unlock()

		fw.timer.Reset(fw.timeout)
		_, err := fw.w.Write(b)
		fw.timer.Stop()

		fw.mu.Lock()
		fw.written.Broadcast()
		if err != nil {
			fw.err = err
			fw.buf = nil
			fw.writing = false
			fw.mu.Unlock()
			return err
		}
		if cap(b) <= streamMaxSpare {
			fw.spare = b[:0]
		}
		fw.mu.Unlock()
	}
}
