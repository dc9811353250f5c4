package peerhttp

import (
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

	// flushRounds is how many writes the goroutine that started writing
	// makes before it leaves the rest to a new goroutine, so that under a
	// steady load no caller is kept writing other callers' frames.
	flushRounds = 2
)

// frameWriter sends the frames of many goroutines on one connection, and
// gathers the frames added while a write is under way into the next write
// (a group commit). A loopback write costs this machine tens of
// microseconds, most of it the receiver's TCP path, which the writer runs,
// and the wake-up of its reader; under load a stream now sends many frames
// per write instead of one each. Whoever adds a frame that is to be flushed
// while no write is under way writes; the others add theirs and go.
//
// A write that blocks, because the other side stopped reading, is ended
// after timeout by expire, which must close the connection.
type frameWriter struct {
	w       io.Writer
	limit   int // bytes gathered during a write past which send refuses a frame; 0: none
	timeout time.Duration
	timer   *time.Timer // runs expire; armed while a write is under way

	mu      sync.Mutex // guards buf, spare, writing and err
	written sync.Cond  // on mu; broadcast after each write
	buf     []byte     // frames not yet written
	spare   []byte     // the buffer of the last write, reused
	writing bool       // a goroutine is writing buf out
	err     error      // why a write failed; then nothing more is sent
}

// newFrameWriter returns a frameWriter on w that refuses a frame when a
// write is under way and limit bytes wait (0: never).
func newFrameWriter(w io.Writer, limit int, timeout time.Duration, expire func()) *frameWriter {
	fw := &frameWriter{w: w, limit: limit, timeout: timeout}
	fw.written.L = &fw.mu
	fw.timer = time.AfterFunc(time.Hour, expire)
	fw.timer.Stop()
	return fw
}

// send adds the frame hdr+body and, if flush and no write is under way,
// writes out everything gathered. It returns the error of a failed write
// (this one's or an earlier one's), or errStreamBusy, adding nothing, when
// a write is under way and fw's limit of bytes already wait.
func (fw *frameWriter) send(hdr, body []byte, flush bool) error {
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
	return fw.writeOut(flushRounds)
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
	return fw.writeOut(flushRounds)
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
			// It ends when nothing waits, or the write fails (expire,
			// or Pool.Close, closes the connection).
			go func() { _ = fw.writeOut(-1) }()
			return nil
		}
		b := fw.buf
		fw.buf = fw.spare[:0]
		fw.mu.Unlock()

		fw.timer.Reset(fw.timeout)
		_, err := fw.w.Write(b)
		fw.timer.Stop()

		fw.mu.Lock()
		fw.written.Broadcast()
		if err != nil {
			fw.err = err
			fw.buf, fw.spare = nil, nil
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
