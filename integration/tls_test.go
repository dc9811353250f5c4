package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testPKI is a CA and one certificate it signed for 127.0.0.1, written as
// PEM files for the binary's --tls-* flags.
type testPKI struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
	cert                      tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rcache test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "rcache node"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "node.pem"),
		keyFile:  filepath.Join(dir, "node.key"),
		pool:     x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	for file, block := range map[string]*pem.Block{
		p.caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		p.certFile: {Type: "CERTIFICATE", Bytes: der},
		p.keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if p.cert, err = tls.LoadX509KeyPair(p.certFile, p.keyFile); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTLSCluster runs two nodes that speak TLS to clients and mutual TLS to
// each other: every key is answered on both nodes (so half the GETs take a
// TLS peer hop), a plaintext client is refused with a RESP error, and, with
// --tls-auth-clients, a client without a certificate is refused.
func TestTLSCluster(t *testing.T) {
	pki := newTestPKI(t)
	o := newOrigin(t, map[string]string{"Tom": "630", "Jack": "589", "Sam": "567", "Ann": "612"})
	addrs := freeAddrs(t, 4)
	peers := "https://" + addrs[2] + ",https://" + addrs[3]
	var nodes []*node
	for i := range 2 {
		nodes = append(nodes, startNode(t, addrs[i], addrs[2+i],
			"--addr", addrs[i], "--peer-addr", addrs[2+i], "--peers", peers,
			"--group", "scores="+o.url(),
			"--tls-cert", pki.certFile, "--tls-key", pki.keyFile, "--tls-ca", pki.caFile, "--tls-auth-clients"))
	}
	ctx := testCtx(t)
	for _, nd := range nodes {
		c := redis.NewClient(&redis.Options{Addr: nd.addr, MaxRetries: -1,
			TLSConfig: &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.cert}}})
		t.Cleanup(func() { c.Close() })
		for key, want := range map[string]string{"Tom": "630", "Jack": "589", "Sam": "567", "Ann": "612"} {
			if got, err := c.Get(ctx, "scores:"+key).Result(); err != nil || got != want {
				t.Errorf("node %s: GET scores:%s = %q, %v; want %q", nd.addr, key, got, err, want)
			}
		}
	}
	for _, key := range []string{"Tom", "Jack", "Sam", "Ann"} {
		if n := o.callsFor(key); n != 1 {
			t.Errorf("origin calls for %s = %d, want 1 (the owner loads, the other node asks it over TLS)", key, n)
		}
	}

	plain := redis.NewClient(&redis.Options{Addr: nodes[0].addr, MaxRetries: -1})
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("plaintext PING succeeded on a TLS port")
	}
	conn, err := net.DialTimeout("tcp", nodes[0].addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte("PING\r\n"))
	reply, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(reply), "-ERR Protocol error: this port requires TLS") {
		t.Errorf("plaintext PING got %q, want -ERR Protocol error: this port requires TLS", reply)
	}
	noCert := redis.NewClient(&redis.Options{Addr: nodes[0].addr, MaxRetries: -1,
		TLSConfig: &tls.Config{RootCAs: pki.pool}})
	defer noCert.Close()
	if err := noCert.Ping(ctx).Err(); err == nil {
		t.Error("PING without a client certificate succeeded, want the handshake refused")
	}
}
