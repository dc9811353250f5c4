package resp

import (
	"math"
	"strconv"

	"github.com/tidwall/redcon"
)

// The protocol versions a connection can speak; HELLO switches between them.
const (
	resp2 = 2
	resp3 = 3
)

// writer writes a connection's replies in the protocol version it chose
// with HELLO. redcon's Writer speaks RESP2 only: the types RESP3 added
// (null, map, set, double, boolean, verbatim string) are encoded here, in
// their RESP2 form for a RESP2 connection, and passed on with WriteRaw.
// A writer is not safe for concurrent use; only the goroutine serving its
// connection uses it.
type writer struct {
	w     *redcon.Writer
	proto int    // resp2 or resp3
	buf   []byte // scratch for encoding, reused

	// pending is the bytes of the replies written since the last flush;
	// limit is the most it may reach, 0 for no limit. A reply that would
	// pass limit is dropped, with every reply after it, and over is set:
	// the connection must close without sending more.
	pending int64
	limit   int64
	over    bool
	// errs counts the error replies written, for the command stats.
	errs int64
}

// fits reports whether a reply of n bytes may be written, and counts it.
func (w *writer) fits(n int) bool {
	if w.over {
		return false
	}
	if w.limit > 0 && w.pending+int64(n) > w.limit {
		w.over = true
		return false
	}
	w.pending += int64(n)
	return true
}

// flush sends the pending replies to the client.
func (w *writer) flush() error {
	w.pending = 0
	return w.w.Flush()
}

// Null writes a null: "_" in RESP3, the null bulk string "$-1" in RESP2.
func (w *writer) Null() { w.raw(appendNull(w.buf[:0], w.proto)) }

// NullArray writes a null: "_" in RESP3, the null array "*-1" in RESP2.
func (w *writer) NullArray() { w.raw(appendNullArray(w.buf[:0], w.proto)) }

// Map writes the header of a map of n pairs; the caller then writes each
// key and its value. RESP2 gets a flat array of 2n elements.
func (w *writer) Map(n int) { w.raw(appendMap(w.buf[:0], w.proto, n)) }

// Set writes the header of a set of n elements; RESP2 gets an array.
func (w *writer) Set(n int) { w.raw(appendSet(w.buf[:0], w.proto, n)) }

// Double writes f: a RESP3 double, or a bulk string in RESP2.
func (w *writer) Double(f float64) { w.raw(appendDouble(w.buf[:0], w.proto, f)) }

// Bool writes v: a RESP3 boolean, or the integer 1 or 0 in RESP2.
func (w *writer) Bool(v bool) { w.raw(appendBool(w.buf[:0], w.proto, v)) }

// Verbatim writes text as a RESP3 verbatim string of format (three
// characters, such as "txt"), or as a bulk string in RESP2.
func (w *writer) Verbatim(format string, text []byte) {
	w.raw(appendVerbatim(w.buf[:0], w.proto, format, text))
}

// Array writes the header of an array of n elements.
func (w *writer) Array(n int) {
	if w.fits(headerLen(int64(n))) {
		w.w.WriteArray(n)
	}
}

// Bulk writes b as a bulk string.
func (w *writer) Bulk(b []byte) {
	if w.fits(headerLen(int64(len(b))) + len(b) + 2) {
		w.w.WriteBulk(b)
	}
}

// BulkString writes s as a bulk string.
func (w *writer) BulkString(s string) {
	if w.fits(headerLen(int64(len(s))) + len(s) + 2) {
		w.w.WriteBulkString(s)
	}
}

// Int writes n as an integer.
func (w *writer) Int(n int64) {
	if w.fits(headerLen(n)) {
		w.w.WriteInt64(n)
	}
}

// Simple writes s as a simple string, such as "OK". Line breaks in s
// become spaces.
func (w *writer) Simple(s string) {
	if w.fits(len(s) + 3) {
		w.w.WriteString(s)
	}
}

// Error writes msg, which starts with its error code ("ERR ..."), as an
// error. Line breaks in msg become spaces.
func (w *writer) Error(msg string) {
	w.errs++
	if w.fits(len(msg) + 3) {
		w.w.WriteError(msg)
	}
}

func (w *writer) raw(b []byte) {
	if w.fits(len(b)) {
		w.w.WriteRaw(b)
	}
	w.buf = b[:0]
}

// headerLen returns the length of a reply's first line carrying n: its
// type byte, n in decimal and CRLF.
func headerLen(n int64) int {
	l, u := 4, uint64(n)
	if n < 0 {
		l, u = 5, uint64(-(n+1))+1 // math.MinInt64 included
	}
	for ; u >= 10; u /= 10 {
		l++
	}
	return l
}

func appendNull(b []byte, proto int) []byte {
	if proto == resp3 {
		return append(b, "_\r\n"...)
	}
	return append(b, "$-1\r\n"...)
}

func appendNullArray(b []byte, proto int) []byte {
	if proto == resp3 {
		return append(b, "_\r\n"...)
	}
	return append(b, "*-1\r\n"...)
}

func appendMap(b []byte, proto, n int) []byte {
	if proto == resp3 {
		return appendHeader(b, '%', n)
	}
	return appendHeader(b, '*', 2*n)
}

func appendSet(b []byte, proto, n int) []byte {
	if proto == resp3 {
		return appendHeader(b, '~', n)
	}
	return appendHeader(b, '*', n)
}

func appendDouble(b []byte, proto int, f float64) []byte {
	var num [32]byte
	var s []byte
	switch {
	case math.IsInf(f, 1):
		s = append(num[:0], "inf"...)
	case math.IsInf(f, -1):
		s = append(num[:0], "-inf"...)
	case math.IsNaN(f):
		s = append(num[:0], "nan"...)
	default:
		s = strconv.AppendFloat(num[:0], f, 'g', -1, 64)
	}
	if proto == resp3 {
		b = append(b, ',')
		b = append(b, s...)
		return append(b, '\r', '\n')
	}
	return redcon.AppendBulk(b, s)
}

func appendBool(b []byte, proto int, v bool) []byte {
	switch {
	case proto == resp3 && v:
		return append(b, "#t\r\n"...)
	case proto == resp3:
		return append(b, "#f\r\n"...)
	case v:
		return append(b, ":1\r\n"...)
	}
	return append(b, ":0\r\n"...)
}

func appendVerbatim(b []byte, proto int, format string, text []byte) []byte {
	if proto != resp3 {
		return redcon.AppendBulk(b, text)
	}
	b = appendHeader(b, '=', len(format)+1+len(text))
	b = append(b, format...)
	b = append(b, ':')
	b = append(b, text...)
	return append(b, '\r', '\n')
}

// appendHeader appends the header line of an aggregate: the type byte and
// its length.
func appendHeader(b []byte, typ byte, n int) []byte {
	b = append(b, typ)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}
