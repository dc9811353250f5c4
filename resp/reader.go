package resp

import (
	"bytes"
	"io"
	"math"
	"sync"
)

// readBufBytes is the size a connection's read buffer starts at, and
// returns to once a long command has been run or a client stops sending
// much at a time: Redis's PROTO_IOBUF_LEN.
const readBufBytes = 16 << 10

// A client whose reads bring pipeBurstBytes or more (half the first
// buffer) is sending a long pipeline: its reader reads into a buffer of
// pipeBufBytes, the guard's maxTailBytes, until a read brings less. A
// pipeline of 16 SETs of 4 KiB then takes 2 reads and 2 writes of replies
// instead of 6 and 6, and about 60% of the CPU (docs/performance.md,
// session 6). The buffer comes from the server's pool and goes back to it
// when the reader returns to its first buffer: a pipeline's last read is
// usually short, and the next pipeline then takes one again without
// allocating. The memory is spent only on the connections doing it.
const (
	pipeBurstBytes = readBufBytes / 2
	pipeBufBytes   = 64 << 10
)

// parseError is input that the reader cannot parse as commands. The guard
// refuses such input before the reader sees it, so a parseError means the
// two disagree; the connection is closed, after a reply in the guard's
// words.
type parseError struct {
	reply replyError
}

func (e *parseError) Error() string { return "resp: parse command: " + string(e.reply) }

// reader reads a connection's commands: it reads from the connection (the
// guard, which has checked every byte) into one buffer, and parses every
// command complete in it into arguments that alias the buffer, without
// copying them and, once its slices have grown, without allocating.
//
// The buffer starts at readBufBytes. It grows, doubling, when a command
// does not fit, up to max (the guard's limits keep a command within it),
// and goes back to the first buffer once the long command has been run.
// Between commands it is pipeBufBytes while reads bring pipeBurstBytes or
// more.
//
// A reader is not safe for concurrent use; the goroutine serving the
// connection is its only user.
type reader struct {
	rd    io.Reader
	buf   []byte // buf[start:end] is read and not yet parsed: the start of a command
	start int
	end   int
	small []byte     // the buffer of readBufBytes, kept while buf is a grown one
	pipes *sync.Pool // of *[]byte of pipeBufBytes, shared by a server's readers; nil: each is made anew
	pipe  *[]byte    // the pipeline buffer buf is, from pipes; nil when buf is another
	last  int        // the bytes the last read brought
	max   int        // the most buf may grow to, in bytes
	err   error      // what ended the input (a read's error, a parse's), reported after the commands before it

	p    cmdParser  // where the parse of the command at buf[start:] stopped
	args [][]byte   // the arguments of the commands next returned last, one command after the other
	ends []int      // where each command's arguments end in args
	cmds [][][]byte // the commands next returned last, each a slice of args
}

// maxEmptyReads is how many reads in a row may return nothing, and no
// error, before the reader gives up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// keptArgs is the most arguments a reader keeps room for once a long
// command has been run; a command with more made it grow its slices.
const keptArgs = 4096

// newReader returns a reader of rd whose buffer may grow to limit bytes.
func newReader(rd io.Reader, limit int) *reader {
	buf := make([]byte, readBufBytes)
	return &reader{rd: rd, buf: buf, small: buf, max: max(limit, readBufBytes)}
}

// readerMax returns the size a reader's buffer needs to hold the longest
// command lim lets through: a multibulk command of lim.maxCommand bytes, or
// an inline line with its "\r\n".
func readerMax(lim guardLimits) int {
	m := max(lim.maxCommand, uint64(lim.maxInline)+2)
	return int(min(m, math.MaxInt/2)) // so that doubling the buffer cannot overflow
}

// next returns the commands complete in the input, in order, reading from
// the connection until there is at least one. Each command is its
// arguments, name first; they alias the reader's buffer, and are valid only
// until the next call. It returns the error that ended the input once the
// commands before it have been returned: io.EOF, the guard's
// *protocolError, a *parseError.
func (r *reader) next() ([][][]byte, error) {
	empty := 0 // reads in a row that returned nothing
	for {
		if r.err != nil {
			return nil, r.err
		}
		if err := r.makeRoom(); err != nil {
			return nil, err
		}
		n, err := r.rd.Read(r.buf[r.end:])
		r.end += n
		r.last = n
		r.err = err
		if n == 0 {
			if empty++; empty == maxEmptyReads && err == nil {
				r.err = io.ErrNoProgress
			}
			continue // r.err, if any, ends the loop
		}
		empty = 0
		if err := r.parse(); err != nil {
			r.err = err // after the commands before it, if any
		}
		if len(r.cmds) > 0 {
			return r.cmds, nil
		}
	}
}

// makeRoom makes room at the end of the buffer for the next read: when
// everything read has been parsed, it returns to the first buffer, or
// takes a pipeline's buffer (see pipeBurstBytes); otherwise it moves the
// start of a command down to the buffer's start, or doubles the buffer
// that the start of a command fills.
func (r *reader) makeRoom() error {
	switch {
	case r.start == r.end:
		r.start, r.end = 0, 0
		piped := r.pipe != nil
		switch {
		case piped && r.last < pipeBurstBytes, !piped && len(r.buf) > len(r.small):
			r.shrink()
		case !piped && r.last >= pipeBurstBytes:
			r.takePipe()
		}
	case r.end < len(r.buf):
		// Room after what is pending. (With the guard, which passes on
		// an incomplete command only when it fills the buffer, only a
		// read that failed leaves a command incomplete here.)
	case r.start > 0:
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	case len(r.buf) >= r.max:
		return &parseError{reply: errProtoCommand}
	default:
		grown := make([]byte, min(2*len(r.buf), r.max))
		r.end = copy(grown, r.buf[:r.end])
		// A pipeline buffer is not given back here: args may still
		// refer to it, and the garbage collector will see when they no
		// longer do.
		r.buf, r.pipe = grown, nil
	}
	return nil
}

// takePipe makes a pipeline buffer, from the pool if it holds one, the
// reader's buffer.
func (r *reader) takePipe() {
	if r.pipes != nil {
		r.pipe, _ = r.pipes.Get().(*[]byte)
	}
	if r.pipe == nil {
		b := make([]byte, pipeBufBytes)
		r.pipe = &b
	}
	r.buf = *r.pipe
}

// shrink returns to the first buffer, once the commands a grown one held
// have run, and lets the grown one and the slices of a command with many
// arguments go. Until then, args may refer to it past its length, where an
// incomplete command was parsed.
// A pipeline buffer goes back to the pool, as nothing refers to it any
// more.
func (r *reader) shrink() {
	r.buf = r.small
	if cap(r.p.marks) > 2*keptArgs {
		r.p.marks = nil
	}
	if cap(r.args) > keptArgs {
		r.args, r.ends, r.cmds = nil, nil, nil
	} else {
		clear(r.args[:cap(r.args)])
		clear(r.cmds[:cap(r.cmds)])
	}
	if r.pipe != nil && r.pipes != nil {
		r.pipes.Put(r.pipe)
	}
	r.pipe = nil
}

// parse parses the commands complete in buf[start:end] into cmds, and
// moves start past them. It returns the error of a command that cannot be
// parsed, with the commands before it in cmds.
func (r *reader) parse() error {
	r.args, r.ends, r.cmds = r.args[:0], r.ends[:0], r.cmds[:0]
	var err error
	for r.start < r.end {
		var args [][]byte
		var n int
		if args, n, err = r.p.parse(r.buf[r.start:r.end], r.args); err != nil {
			break
		}
		if n == 0 {
			break // the rest is a command's start
		}
		r.start += n
		if len(args) > len(r.args) {
			r.ends = append(r.ends, len(args))
		}
		r.args = args
	}
	from := 0
	for _, e := range r.ends {
		r.cmds = append(r.cmds, r.args[from:e:e])
		from = e
	}
	return err
}

// cmdParser parses the command at the start of a buffer. When the buffer
// holds only the start of the command, it keeps where it stopped, and the
// next call, with the same bytes and more after them (moved, perhaps, to
// another buffer), goes on from there: a command that arrives a few bytes
// at a time is not parsed again from its start for each, which would take
// time that grows with the square of its length. (The guard also prevents
// that, as it passes on a command only whole or a buffer at a time.)
//
// The zero cmdParser is ready to use. It is not safe for concurrent use.
type cmdParser struct {
	next    int    // the offset of the next argument of the multibulk command; 0 before its count is parsed
	left    uint64 // the arguments still to parse
	marks   []int  // the start and end offsets of the arguments parsed
	scanned int    // the bytes of an inline line searched for its '\n'
}

// parse parses the command at the start of b, and appends its arguments,
// which alias b, to args. It returns the bytes it took, or 0 (and args as
// they were) when b holds only the start of a command. A line with no
// words takes its bytes and appends nothing.
//
// It parses what the guard lets through as redcon's reader does
// (FuzzReaderMatchesRedcon checks it): a multibulk command, or, when b does
// not start with '*', an inline line, whose quoted words it unescapes in
// place in b. Anything else is a *parseError: never a panic, nor a read
// out of b's bounds.
func (p *cmdParser) parse(b []byte, args [][]byte) ([][]byte, int, error) {
	if len(b) == 0 {
		return args, 0, nil
	}
	var n int
	var err error
	if b[0] == '*' {
		args, n, err = p.multibulk(b, args)
	} else {
		args, n, err = p.inline(b, args)
	}
	if n > 0 || err != nil {
		p.next, p.left, p.marks, p.scanned = 0, 0, p.marks[:0], 0
	}
	return args, n, err
}

// multibulk parses "*<count>\r\n" and count times
// "$<len>\r\n<payload>\r\n" at the start of b, as parse.
func (p *cmdParser) multibulk(b []byte, args [][]byte) ([][]byte, int, error) {
	i := p.next
	if i == 0 {
		count, j, err := parseNumber(b, 1, errProtoMultibulk)
		if err != nil || j == 0 {
			return args, 0, err
		}
		if count == 0 {
			return args, 0, &parseError{reply: errProtoMultibulk}
		}
		i, p.left, p.marks = j, count, p.marks[:0]
	}
	for ; p.left > 0; p.left-- {
		if i >= len(b) {
			p.next = i
			return args, 0, nil
		}
		if b[i] != '$' {
			return args, 0, &parseError{reply: errProtoDollar(b[i])}
		}
		size, j, err := parseNumber(b, i+1, errProtoBulk)
		if err != nil {
			return args, 0, err
		}
		if j == 0 || size+2 > uint64(len(b)-j) { // size < 10^18: no overflow
			p.next = i
			return args, 0, nil
		}
		end := j + int(size)
		if b[end] != '\r' || b[end+1] != '\n' {
			return args, 0, &parseError{reply: errProtoBulk}
		}
		p.marks = append(p.marks, j, end)
		i = end + 2
	}
	for k := 0; k+1 < len(p.marks); k += 2 {
		args = append(args, b[p.marks[k]:p.marks[k+1]:p.marks[k+1]])
	}
	return args, i, nil
}

// maxDigits is the most digits of a count or length parseNumber takes:
// past any limit the guard enforces, and few enough (below 10^18 < 2^62)
// that adding to the number cannot overflow.
const maxDigits = 18

// parseNumber parses the decimal number and "\r\n" that start at b[i]:
// digits, without a sign or a leading zero, at most maxDigits of them. It
// returns the number and the index after the '\n'; or 0, 0 if b ends
// first; or bad if the line is not such a number.
func parseNumber(b []byte, i int, bad replyError) (uint64, int, error) {
	start := i
	var n uint64
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		n = n*10 + uint64(b[i]-'0')
		if i-start == maxDigits {
			return 0, 0, &parseError{reply: bad} // too big
		}
	}
	switch {
	case i == len(b):
		return 0, 0, nil
	case i == start || b[i] != '\r' || (b[start] == '0' && i-start > 1):
		return 0, 0, &parseError{reply: bad} // no digits, not a digit, a leading zero
	case i+1 == len(b):
		return 0, 0, nil
	case b[i+1] != '\n':
		return 0, 0, &parseError{reply: bad}
	}
	return n, i + 2, nil
}

// inline parses the inline line at the start of b, as parse: words
// separated by spaces; a word that opens with a quote runs to the matching
// quote, which a space or the line's end must follow, and inside it a
// backslash escapes the next byte ("\n", "\r" and "\t" stand for line
// feed, carriage return and tab). The line ends at "\n", or "\r\n".
func (p *cmdParser) inline(b []byte, args [][]byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(b[min(p.scanned, len(b)):], '\n')
	if nl < 0 {
		p.scanned = len(b)
		return args, 0, nil
	}
	nl += min(p.scanned, len(b))
	line := b[:nl]
	if nl > 0 && line[nl-1] == '\r' {
		line = line[:nl-1]
	}
	base := len(args)
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ':
			i++
		case c == '"' || c == '\'':
			// Unescape in place: w never passes i.
			i++
			start, w, closed := i, i, false
			for i < len(line) {
				d := line[i]
				i++
				if d == c {
					closed = true
					break
				}
				if d == '\\' {
					if i == len(line) {
						break // the line ends after the backslash: unbalanced
					}
					d = line[i]
					i++
					switch d {
					case 'n':
						d = '\n'
					case 'r':
						d = '\r'
					case 't':
						d = '\t'
					}
				}
				line[w] = d
				w++
			}
			if !closed || (i < len(line) && line[i] != ' ') {
				return args[:base], 0, &parseError{reply: errProtoQuotes}
			}
			args = append(args, line[start:w:w])
		default:
			start := i
			for i < len(line) && line[i] != ' ' {
				if line[i] == '"' || line[i] == '\'' {
					return args[:base], 0, &parseError{reply: errProtoQuotes}
				}
				i++
			}
			args = append(args, line[start:i:i])
		}
	}
	return args, nl + 1, nil
}
