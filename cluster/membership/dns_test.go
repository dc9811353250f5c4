package membership

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeResolver answers every lookup with the current answer.
type fakeResolver struct {
	mu      sync.Mutex // guards addrs, err, lookups and hosts
	addrs   []net.IPAddr
	err     error
	lookups int
	hosts   []string
}

func (r *fakeResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups++
	r.hosts = append(r.hosts, host)
	return slices.Clone(r.addrs), r.err
}

// answer sets the next answers: the IPs, or err if not nil.
func (r *fakeResolver) answer(err error, ips ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs, r.err = nil, err
	for _, ip := range ips {
		r.addrs = append(r.addrs, net.IPAddr{IP: net.ParseIP(ip)})
	}
}

func (r *fakeResolver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups
}

// TestDNSPolling walks one poller through a sequence of answers, one
// interval apart, on synctest's fake clock.
func TestDNSPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res := &fakeResolver{}
		rec := newRecorder()
		res.answer(nil, "10.0.0.2", "10.0.0.1")
		d, err := StartDNS(t.Context(), DNSConfig{Name: "rcache.ns.svc", Port: 8001, Resolver: res, OnChange: rec.onChange})
		if err != nil {
			t.Fatalf("StartDNS: %v", err)
		}
		defer d.Stop()
		want := [][]string{{"http://10.0.0.1:8001", "http://10.0.0.2:8001"}}
		if got := rec.all(); !equalCalls(got, want) {
			t.Fatalf("after StartDNS: OnChange calls %v, want %v", got, want)
		}

		steps := []struct {
			name   string
			err    error
			ips    []string
			change []string // the new set, nil for no OnChange call
		}{
			{name: "same set in another order", ips: []string{"10.0.0.1", "10.0.0.2"}},
			{name: "node added", ips: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"},
				change: []string{"http://10.0.0.1:8001", "http://10.0.0.2:8001", "http://10.0.0.3:8001"}},
			{name: "lookup fails: keep the last set", err: errors.New("i/o timeout")},
			{name: "empty answer: keep the last set"},
			{name: "node removed", ips: []string{"10.0.0.1", "10.0.0.3"},
				change: []string{"http://10.0.0.1:8001", "http://10.0.0.3:8001"}},
			{name: "IPv6 and duplicates", ips: []string{"fd00::1", "10.0.0.1", "fd00::1"},
				change: []string{"http://10.0.0.1:8001", "http://[fd00::1]:8001"}},
		}
		for i, st := range steps {
			res.answer(st.err, st.ips...)
			time.Sleep(defaultDNSInterval) // Interval 0 selects it
			synctest.Wait()
			if got := res.count(); got != i+2 {
				t.Errorf("%s: %d lookups, want %d", st.name, got, i+2)
			}
			if st.change != nil {
				want = append(want, st.change)
			}
			if got := rec.all(); !equalCalls(got, want) {
				t.Errorf("%s: OnChange calls %v, want %v", st.name, got, want)
			}
			if got := d.URLs(); !slices.Equal(got, want[len(want)-1]) {
				t.Errorf("%s: URLs() = %v, want %v", st.name, got, want[len(want)-1])
			}
			if got := d.Changes(); got != uint64(len(want)) {
				t.Errorf("%s: Changes() = %d, want %d", st.name, got, len(want))
			}
		}
		if res.hosts[0] != "rcache.ns.svc" {
			t.Errorf("looked up %q, want rcache.ns.svc", res.hosts[0])
		}
	})
}

func equalCalls(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

// TestDNSFirstLookupFails checks that StartDNS succeeds without DNS and
// publishes the set once a lookup finds it.
func TestDNSFirstLookupFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res := &fakeResolver{}
		res.answer(&net.DNSError{Err: "no such host", Name: "rcache", IsNotFound: true})
		rec := newRecorder()
		d, err := StartDNS(t.Context(), DNSConfig{Name: "rcache", Port: 8001, Interval: time.Second, Resolver: res, OnChange: rec.onChange})
		if err != nil {
			t.Fatalf("StartDNS: %v", err)
		}
		defer d.Stop()
		if got := d.URLs(); got != nil {
			t.Errorf("URLs() = %v before any answer, want nil", got)
		}
		res.answer(nil, "10.0.0.1")
		time.Sleep(time.Second)
		synctest.Wait()
		want := [][]string{{"http://10.0.0.1:8001"}}
		if got := rec.all(); !equalCalls(got, want) {
			t.Errorf("OnChange calls %v, want %v", got, want)
		}
	})
}

// blockingResolver blocks each lookup until its ctx ends.
type blockingResolver struct{ started chan struct{} }

func (r blockingResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	r.started <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestDNSStopCancelsLookup stops a poller in the middle of a lookup: Stop
// cancels it and returns, and OnChange is never called.
func TestDNSStopCancelsLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res := blockingResolver{started: make(chan struct{}, 2)}
		rec := newRecorder()
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // the first lookup, under ctx, returns at once
		d, err := StartDNS(ctx, DNSConfig{Name: "rcache", Port: 8001, Interval: time.Hour, Resolver: res, OnChange: rec.onChange})
		if err != nil {
			t.Fatalf("StartDNS: %v", err)
		}
		<-res.started
		time.Sleep(time.Hour) // polling outlives the cancelled ctx
		<-res.started
		before := time.Now()
		d.Stop()
		d.Stop()
		if waited := time.Since(before); waited != 0 {
			t.Errorf("Stop waited %v for the lookup's timeout, want it cancelled at once", waited)
		}
		if got := rec.all(); len(got) != 0 {
			t.Errorf("OnChange calls %v, want none", got)
		}
	})
}

func TestDNSURLs(t *testing.T) {
	tests := []struct {
		name string
		cfg  DNSConfig
		ips  []string
		want []string
	}{
		{name: "IPv4 sorted", cfg: DNSConfig{Port: 8001}, ips: []string{"10.0.0.9", "10.0.0.10"},
			want: []string{"http://10.0.0.10:8001", "http://10.0.0.9:8001"}},
		{name: "IPv6 bracketed", cfg: DNSConfig{Port: 80}, ips: []string{"2001:db8::1"},
			want: []string{"http://[2001:db8::1]:80"}},
		{name: "https", cfg: DNSConfig{Port: 443, Scheme: "https"}, ips: []string{"10.0.0.1"},
			want: []string{"https://10.0.0.1:443"}},
		{name: "self missing from DNS", cfg: DNSConfig{Port: 8001, Self: "http://10.0.0.5:8001"}, ips: []string{"10.0.0.1"},
			want: []string{"http://10.0.0.1:8001", "http://10.0.0.5:8001"}},
		{name: "self in DNS once", cfg: DNSConfig{Port: 8001, Self: "http://10.0.0.5:8001"}, ips: []string{"10.0.0.5", "10.0.0.5"},
			want: []string{"http://10.0.0.5:8001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.cfg.Scheme == "" {
				tt.cfg.Scheme = "http"
			}
			var addrs []net.IPAddr
			for _, ip := range tt.ips {
				addrs = append(addrs, net.IPAddr{IP: net.ParseIP(ip)})
			}
			d := &DNS{cfg: tt.cfg}
			if got := d.urlsOf(addrs); !slices.Equal(got, tt.want) {
				t.Errorf("urlsOf(%v) = %v, want %v", tt.ips, got, tt.want)
			}
		})
	}
}

func TestDNSConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     DNSConfig
		wantErr bool
	}{
		{name: "minimal", cfg: DNSConfig{Name: "rcache", Port: 8001}},
		{name: "full", cfg: DNSConfig{Name: "rcache", Port: 443, Scheme: "https", Self: "https://10.0.0.1:443", Interval: time.Second}},
		{name: "no name", cfg: DNSConfig{Port: 8001}, wantErr: true},
		{name: "no port", cfg: DNSConfig{Name: "rcache"}, wantErr: true},
		{name: "port too big", cfg: DNSConfig{Name: "rcache", Port: 65536}, wantErr: true},
		{name: "bad scheme", cfg: DNSConfig{Name: "rcache", Port: 1, Scheme: "redis"}, wantErr: true},
		{name: "negative interval", cfg: DNSConfig{Name: "rcache", Port: 1, Interval: -time.Second}, wantErr: true},
		{name: "self not a URL", cfg: DNSConfig{Name: "rcache", Port: 1, Self: "10.0.0.1:8001"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	if _, err := StartDNS(context.Background(), DNSConfig{}); err == nil {
		t.Errorf("StartDNS with an empty config succeeded, want an error")
	}
}
