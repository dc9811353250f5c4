package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// gnode is a node that finds its peers by gossip.
type gnode struct {
	*node
	gossipAddr string
}

// peerURL is the node's URL on the ring, as its peers name it.
func (g *gnode) peerURL() string { return "http://" + g.peerAddr }

// startGossipNode starts a node that binds gossip on a free loopback port
// and joins through seeds (none: it starts a cluster of its own), with
// the extra flags given.
func startGossipNode(t *testing.T, seeds []*gnode, extra ...string) *gnode {
	t.Helper()
	addrs := freeAddrs(t, 3)
	args := []string{"--addr", addrs[0], "--peer-addr", addrs[1], "--gossip-addr", addrs[2]}
	if len(seeds) > 0 {
		var join []string
		for _, s := range seeds {
			join = append(join, s.gossipAddr)
		}
		args = append(args, "--join", strings.Join(join, ","))
	}
	args = append(args, extra...)
	return &gnode{node: startNode(t, addrs[0], addrs[1], args...), gossipAddr: addrs[2]}
}

// startGossipCluster starts n gossip nodes, each joining through the first,
// and waits until every one sees all n.
func startGossipCluster(t *testing.T, n int, extra ...string) []*gnode {
	t.Helper()
	nodes := []*gnode{startGossipNode(t, nil, extra...)}
	for range n - 1 {
		nodes = append(nodes, startGossipNode(t, nodes[:1], extra...))
	}
	if _, err := waitMembers(t, nodes, n, 20*time.Second); err != nil {
		t.Fatalf("a %d-node gossip cluster: %v", n, err)
	}
	return nodes
}

// peerURLs returns the nodes' peer URLs.
func peerURLs(nodes []*gnode) []string {
	urls := make([]string, len(nodes))
	for i, nd := range nodes {
		urls[i] = nd.peerURL()
	}
	return urls
}

// clusterMembers returns the members of nd's ring that INFO cluster lists
// (cluster_members and the cluster_memberN lines).
func clusterMembers(ctx context.Context, nd *gnode) (int, []string, error) {
	// A connection of its own: a node's pooled clients may be busy.
	c := redis.NewClient(&redis.Options{Addr: nd.addr, Protocol: 3, MaxRetries: -1, PoolSize: 1,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
	defer c.Close()
	text, err := c.Info(ctx, "cluster").Result()
	if err != nil {
		return 0, nil, fmt.Errorf("INFO cluster of %s: %w", nd.addr, err)
	}
	n := -1
	var members []string
	for line := range strings.Lines(text) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch {
		case name == "cluster_members":
			n, err = strconv.Atoi(value)
			if err != nil {
				return 0, nil, fmt.Errorf("INFO cluster of %s: cluster_members %q: %w", nd.addr, value, err)
			}
		case strings.HasPrefix(name, "cluster_member"):
			members = append(members, value)
		}
	}
	if n < 0 {
		return 0, nil, fmt.Errorf("INFO cluster of %s has no cluster_members:\n%s", nd.addr, text)
	}
	return n, members, nil
}

// waitMembers polls every node's INFO cluster until each lists want
// members, and returns how long each node took from the call (the last
// to converge decides), or an error after limit.
func waitMembers(t *testing.T, nodes []*gnode, want int, limit time.Duration) (time.Duration, error) {
	t.Helper()
	return waitMembersSince(t, time.Now(), nodes, want, limit)
}

// waitMembersSince is waitMembers measuring from start.
func waitMembersSince(t *testing.T, start time.Time, nodes []*gnode, want int, limit time.Duration) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(limit))
	defer cancel()
	var last time.Duration
	for _, nd := range nodes {
		for {
			n, members, err := clusterMembers(ctx, nd)
			if err == nil && n == want {
				last = max(last, time.Since(start))
				break
			}
			if ctx.Err() != nil {
				return 0, fmt.Errorf("node %s lists %d members %v (%v), want %d, %v after the event", nd.addr, n, members, err, want, limit)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return last, nil
}

// scrape fetches a node's /metrics from its peer port.
func scrape(t *testing.T, nd *gnode) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, nd.peerURL()+"/metrics", nil)
	if err != nil {
		t.Fatalf("scrape request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", nd.peerURL(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %s, %v\n%s", nd.peerURL(), resp.Status, err, body)
	}
	return string(body)
}

// metricValue returns the value of the series named series (with its
// labels, as the exposition format writes them) in a scrape.
func metricValue(text, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// ringLog returns the member counts of the "peers set" lines of nd's log,
// in order: the ring changes the node went through.
func ringLog(nd *gnode) string {
	var counts []string
	for line := range strings.Lines(nd.stderr.String()) {
		if !strings.Contains(line, "peers set") {
			continue
		}
		for f := range strings.FieldsSeq(line) {
			if v, ok := strings.CutPrefix(f, "members="); ok {
				counts = append(counts, v)
			}
		}
	}
	return "[" + strings.Join(counts, " ") + "]"
}

// shutdownLog returns the lines of nd's log from "shutting down" on: what
// the node did between its signal and its exit, with the times it logged.
func shutdownLog(nd *gnode) string {
	_, after, ok := strings.Cut(nd.stderr.String(), "shutting down")
	if !ok {
		return "(no shutdown logged)"
	}
	var b strings.Builder
	for line := range strings.Lines(after) {
		if !strings.Contains(line, "time=") {
			continue
		}
		b.WriteString("\n\t")
		b.WriteString(strings.TrimSpace(line))
	}
	return b.String()
}

// handedOff returns the "handed off" line of nd's log, or says there was
// none.
func handedOff(nd *gnode) string {
	for line := range strings.Lines(nd.stderr.String()) {
		if strings.Contains(line, "handed off") {
			_, msg, _ := strings.Cut(strings.TrimSpace(line), "msg=")
			return msg
		}
	}
	return "no hand-off logged"
}
