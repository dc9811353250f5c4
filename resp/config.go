package resp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rcache/rcache/engine/group"
)

// defaultCommandTimeout bounds one command's wait when Config.CommandTimeout
// is zero.
const defaultCommandTimeout = 10 * time.Second

// defaultMaxClients bounds the open connections when Config.MaxClients is
// zero, as Redis's maxclients does.
const defaultMaxClients = 10000

// defaultMaxBulkBytes bounds one argument when Config.MaxBulkBytes is zero.
const defaultMaxBulkBytes = 64 << 20

// defaultMaxOutputBytes bounds a connection's unsent replies when
// Config.MaxOutputBytes is zero, unless twice MaxBulkBytes is more.
const defaultMaxOutputBytes = 256 << 20

// defaultWriteTimeout bounds a stalled write when Config.WriteTimeout is
// zero.
const defaultWriteTimeout = 30 * time.Second

// defaultKeepAlive is the TCP keepalive period when Config.KeepAlive is
// zero: Redis's tcp-keepalive default.
const defaultKeepAlive = 300 * time.Second

// Membership is what INFO needs to know about the cluster;
// cluster/peerhttp.Pool implements it.
type Membership interface {
	// Self returns this node's address as the other members know it.
	Self() string
	// Members returns the address of every member, this node included.
	Members() []string
}

// Config describes a Server. Zero fields select the defaults; only Default
// is required.
type Config struct {
	// Registry holds the configured groups, addressed by clients as
	// "name:key". Nil means group.DefaultRegistry().
	Registry *group.Registry

	// Default is the plain cache (its Getter reports group.ErrNotFound, so
	// a miss is nil) that holds every key without a configured group
	// prefix. It must also be in Registry under its own name, so that
	// DBSIZE, FLUSHALL and INFO cover it, but it is never addressed by that
	// prefix: "default:k" is the key "default:k" in Default.
	Default *group.Group

	// Cluster describes the cluster for INFO; nil means a single node.
	Cluster Membership

	// RequirePass is the password AUTH and HELLO AUTH must present before
	// any other command runs; "" means no authentication.
	RequirePass string

	// AllowRemoteWithoutPassword turns off protected mode. In protected
	// mode, the default, a server with no RequirePass accepts clients only
	// from the loopback interface or a unix socket, as Redis does: any
	// other client gets "-DENIED Redis is running in protected mode ..."
	// and is disconnected. It has no effect when RequirePass is set.
	AllowRemoteWithoutPassword bool

	// MaxClients is the most connections the server keeps open at once,
	// like Redis's maxclients; zero selects 10000. A client that connects
	// past it gets "-ERR max number of clients reached" and is
	// disconnected; the clients already connected are unaffected.
	MaxClients int

	// CommandTimeout bounds how long one command waits on the engine (a
	// load, a peer), counted from when the command started: when the
	// server read it, or, in a pipeline, when the command before it
	// finished waiting or flushed its replies. Zero selects 10 seconds.
	// A command whose timeout is about a group's load timeout or longer
	// fetches a key owned elsewhere itself (group.Get), bounded by the
	// load timeout: it may then answer up to 1/64 of that past its own.
	CommandTimeout time.Duration

	// MaxBulkBytes is the longest argument a client may send, in bytes,
	// like Redis's proto-max-bulk-len (512 MiB there); zero selects 64 MiB.
	// A longer one gets "ERR Protocol error: invalid bulk length" and the
	// connection is closed. A connection keeps a command in memory until
	// all of it has arrived, in a read buffer that doubles as it grows, up
	// to MaxCommandBytes, and goes back to 16 KiB once the command has
	// run: a connection may use three times its largest command for a
	// moment (the buffer being doubled and the new one).
	MaxBulkBytes int64

	// MaxCommandBytes is the most bytes one command may take on the wire,
	// its headers included; zero selects twice MaxBulkBytes. It must be at
	// least MaxBulkBytes.
	MaxCommandBytes int64

	// MaxOutputBytes bounds the reply bytes a connection may hold unsent,
	// like Redis's client-output-buffer-limit; zero selects 256 MiB, or
	// twice MaxBulkBytes if that is more, and a negative value means no
	// limit. It must be at least MaxBulkBytes plus 64, so that any value a
	// client may SET can be read back. A connection's goroutine writes its
	// replies out (waiting, up to WriteTimeout, for the client to take
	// them) once 64 KiB are pending and after the last command of each
	// pipeline it read, so what it holds is the replies of the commands
	// since its last write: in practice the bound is on one command's
	// reply, an MGET of many large values, say. A command whose reply would
	// pass it gets none: the client gets the replies to the commands before
	// it, then the connection closes, as Redis closes a client past its
	// hard limit. The other connections are unaffected.
	// (Redis, which never waits on a socket, queues the replies of a client
	// that does not read, and its default for normal clients is no limit.)
	MaxOutputBytes int64

	// WriteTimeout bounds how long the server waits for a client to take
	// 128 KiB of its replies; zero selects 30 seconds, a negative value
	// means no bound. A client that does not read its replies, such as
	// one that pipelines commands and never reads, is closed once the
	// socket buffers are full and WriteTimeout has passed, and its
	// goroutine and memory are freed. Redis has no such bound: it queues
	// the replies until client-output-buffer-limit.
	WriteTimeout time.Duration

	// IdleTimeout closes a connection once no byte has arrived on it for
	// that long while the server waits for the next command, like Redis's
	// timeout; zero, the default, means never. A command that takes
	// longer (a slow load) does not count as idle time.
	IdleTimeout time.Duration

	// KeepAlive is the period of the TCP keepalive probes on accepted TCP
	// connections, like Redis's tcp-keepalive: the first probe is sent
	// after KeepAlive without traffic, then one every KeepAlive/3, and the
	// connection is closed after 3 unanswered. Zero selects 300 seconds;
	// a negative value turns keepalive off.
	KeepAlive time.Duration

	// TLS, if not nil, makes the server speak TLS on every connection it
	// accepts, with this configuration: Certificates (or GetCertificate)
	// is the server's certificate, and ClientCAs with ClientAuth set to
	// tls.RequireAndVerifyClientCert requires clients to present a
	// certificate signed by one of those CAs (mutual TLS). The framing
	// guard and every limit apply to the decrypted bytes. A TLS handshake
	// must end within 10 seconds; a client that sends plain RESP instead
	// gets "-ERR Protocol error: this port requires TLS" and is closed.
	// Protected mode still looks at the TCP peer's address. Serve does
	// not modify the configuration, which must not be changed after.
	TLS *tls.Config

	// Logger receives the server's log lines; nil discards them.
	Logger *slog.Logger

	// Version is the rcache version that INFO and HELLO report; "" means
	// "dev".
	Version string
}

// Validate reports what is wrong with c, if anything.
func (c *Config) Validate() error {
	var errs []error
	if c.Default == nil {
		errs = append(errs, errors.New("resp: nil Default group"))
	} else {
		reg := c.Registry
		if reg == nil {
			reg = group.DefaultRegistry()
		}
		if reg.GetGroup(c.Default.Name()) != c.Default {
			errs = append(errs, fmt.Errorf("resp: Default group %q is not in Registry", c.Default.Name()))
		}
	}
	if c.CommandTimeout < 0 {
		errs = append(errs, fmt.Errorf("resp: negative CommandTimeout %v", c.CommandTimeout))
	}
	if c.MaxClients < 0 {
		errs = append(errs, fmt.Errorf("resp: negative MaxClients %d", c.MaxClients))
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("resp: negative IdleTimeout %v", c.IdleTimeout))
	}
	if c.MaxBulkBytes < 0 {
		errs = append(errs, fmt.Errorf("resp: negative MaxBulkBytes %d", c.MaxBulkBytes))
	}
	if c.MaxCommandBytes < 0 {
		errs = append(errs, fmt.Errorf("resp: negative MaxCommandBytes %d", c.MaxCommandBytes))
	}
	if d := c.withDefaults(); c.MaxBulkBytes >= 0 && d.MaxOutputBytes > 0 && d.MaxOutputBytes < d.MaxBulkBytes+64 {
		errs = append(errs, fmt.Errorf("resp: MaxOutputBytes %d is less than MaxBulkBytes %d plus 64: a value that fits could not be read back", d.MaxOutputBytes, d.MaxBulkBytes))
	}
	if d := c.withDefaults(); c.MaxBulkBytes >= 0 && c.MaxCommandBytes > 0 && d.MaxCommandBytes < d.MaxBulkBytes {
		errs = append(errs, fmt.Errorf("resp: MaxCommandBytes %d is less than MaxBulkBytes %d", d.MaxCommandBytes, d.MaxBulkBytes))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with its zero fields filled in.
func (c Config) withDefaults() Config {
	if c.Registry == nil {
		c.Registry = group.DefaultRegistry()
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = defaultCommandTimeout
	}
	if c.MaxClients == 0 {
		c.MaxClients = defaultMaxClients
	}
	if c.MaxBulkBytes == 0 {
		c.MaxBulkBytes = defaultMaxBulkBytes
	}
	if c.MaxCommandBytes == 0 {
		c.MaxCommandBytes = 2 * c.MaxBulkBytes
	}
	if c.MaxOutputBytes == 0 {
		c.MaxOutputBytes = max(defaultMaxOutputBytes, 2*c.MaxBulkBytes)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = defaultWriteTimeout
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = defaultKeepAlive
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	return c
}
