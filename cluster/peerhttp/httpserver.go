package peerhttp

import (
	"crypto/tls"
	"net/http"
	"time"
)

// Bounds of the server NewServer returns. They cut a client that sends its
// request slowly (slowloris) without cutting a peer's legitimate request.
const (
	// ServerReadHeaderTimeout bounds reading a request's headers. A peer
	// sends them in one write.
	ServerReadHeaderTimeout = 5 * time.Second

	// ServerReadTimeout bounds reading a whole request, body included: a
	// GetMany or a write of up to Config.MaxBodyBytes.
	ServerReadTimeout = 30 * time.Second

	// ServerWriteTimeout bounds a request from the end of its headers to
	// the end of the answer. It exceeds the longest deadline a peer may
	// ask for (one minute) by 10 seconds, so that the handler answers 504
	// before the server cuts it.
	ServerWriteTimeout = maxServeTimeout + 10*time.Second

	// ServerIdleTimeout is how long a kept-alive connection may wait for
	// its next request. It exceeds the 90 seconds after which a Pool's own
	// transport drops an idle connection, so that the client closes first
	// and never sends a request on a connection the server is closing.
	ServerIdleTimeout = 120 * time.Second

	// ServerMaxHeaderBytes bounds the request line and headers.
	ServerMaxHeaderBytes = maxHeaderBytes
)

// NewServer returns an http.Server for the peer port that serves h (a Pool,
// or a mux the Pool is mounted on) with the timeouts and header bound
// above. With a non-nil tlsCfg the server is for TLS: tlsCfg holds the
// node's certificate (Certificates or GetCertificate) and, for mutual TLS,
// ClientCAs with ClientAuth set to tls.RequireAndVerifyClientCert; start
// it with ServeTLS(ln, "", ""), or ListenAndServeTLS("", ""). Without one,
// start it with Serve or ListenAndServe. Set Addr before ListenAndServe,
// and ErrorLog if the default logger is not wanted. Stop it with Shutdown.
// NewServer clones tlsCfg and never modifies it.
func NewServer(h http.Handler, tlsCfg *tls.Config) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsCfg.Clone(),
		ReadHeaderTimeout: ServerReadHeaderTimeout,
		ReadTimeout:       ServerReadTimeout,
		WriteTimeout:      ServerWriteTimeout,
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
	}
}
