package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// tlsConfigs are the TLS settings of a node's three roles; all nil without
// --tls-cert.
type tlsConfigs struct {
	resp       *tls.Config // the Redis port
	peerServer *tls.Config // the peer port
	peerClient *tls.Config // requests to peers
}

// loadTLS reads the certificate, key and CA files the --tls-* flags name.
// One certificate serves both ports and is the client certificate towards
// peers. With --tls-ca, peers must present a certificate it signed (mutual
// TLS between nodes), and so must Redis clients with --tls-auth-clients.
func loadTLS(o tlsOptions) (tlsConfigs, error) {
	if o.cert == "" {
		return tlsConfigs{}, nil
	}
	cert, err := tls.LoadX509KeyPair(o.cert, o.key)
	if err != nil {
		return tlsConfigs{}, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	var cas *x509.CertPool
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return tlsConfigs{}, fmt.Errorf("--tls-ca: %w", err)
		}
		cas = x509.NewCertPool()
		if !cas.AppendCertsFromPEM(pem) {
			return tlsConfigs{}, errors.New("--tls-ca: no PEM certificate in the file")
		}
	}
	base := tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	c := tlsConfigs{resp: base.Clone(), peerServer: base.Clone(), peerClient: base.Clone()}
	if cas != nil {
		c.peerServer.ClientCAs, c.peerServer.ClientAuth = cas, tls.RequireAndVerifyClientCert
		c.peerClient.RootCAs = cas
		if o.authClient {
			c.resp.ClientCAs, c.resp.ClientAuth = cas, tls.RequireAndVerifyClientCert
		}
	}
	return c, nil
}
