package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// conn is a minimal RESP2 client: it appends commands to a buffer, sends
// them in one write, and reads the replies back one by one, so that a
// pipeline of any depth costs one write and as few reads as the socket
// allows. It allocates nothing per command once its buffer has grown, so
// that the probe's own garbage collector stays out of the latencies it
// measures. A conn is not safe for concurrent use.
type conn struct {
	c   net.Conn
	r   *bufio.Reader
	out []byte
}

func dial(addr string) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

func (c *conn) Close() error { return c.c.Close() }

// appendCommand appends a command of bulk strings to the output buffer.
func (c *conn) appendCommand(args ...[]byte) {
	c.out = append(c.out, '*')
	c.out = strconv.AppendInt(c.out, int64(len(args)), 10)
	c.out = append(c.out, "\r\n"...)
	for _, a := range args {
		c.out = append(c.out, '$')
		c.out = strconv.AppendInt(c.out, int64(len(a)), 10)
		c.out = append(c.out, "\r\n"...)
		c.out = append(c.out, a...)
		c.out = append(c.out, "\r\n"...)
	}
}

// flush sends the buffered commands.
func (c *conn) flush() error {
	_, err := c.c.Write(c.out)
	c.out = c.out[:0]
	return err
}

// errReply is an error reply from the server.
type errReply string

func (e errReply) Error() string { return "server replied " + strconv.Quote(string(e)) }

// readReply reads one reply that is not an array and reports whether it
// was a null; the value of a bulk string is read and dropped. An error
// reply is returned as an errReply.
func (c *conn) readReply() (null bool, err error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return false, fmt.Errorf("malformed reply %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', ':':
		return false, nil
	case '_':
		return true, nil
	case '-':
		return false, errReply(body)
	case '$':
		n, err := strconv.Atoi(string(body))
		if err != nil || n < -1 {
			return false, fmt.Errorf("malformed bulk length %q", line)
		}
		if n == -1 {
			return true, nil
		}
		if _, err := c.r.Discard(n + 2); err != nil {
			return false, err
		}
		return false, nil
	}
	return false, fmt.Errorf("unexpected reply %q", bytes.TrimSpace(line))
}

// expectOK reads n replies and fails on the first that is not "+OK".
func (c *conn) expectOK(n int) error {
	for range n {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if !bytes.Equal(line, []byte("+OK\r\n")) {
			return errors.New("want +OK, got " + strconv.Quote(string(line)))
		}
	}
	return nil
}
