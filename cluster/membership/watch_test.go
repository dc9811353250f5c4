package membership

import (
	"log/slog"
	"net"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"
)

// fakeNode is the node memberlist would pass to the events for test node i.
func fakeNode(i int) *memberlist.Node {
	return &memberlist.Node{Name: "node" + strconv.Itoa(i), Addr: net.IPv4(127, 0, 0, 1), Port: uint16(7000 + i), Meta: []byte(peerURL(i))}
}

// TestWatchCoalesces drives watch through the table's events on a fake
// clock, without memberlist: a burst within Settle gives one OnChange, an
// update that changes no URL gives none, and an event that arrives while
// OnChange runs is published in a call of its own.
func TestWatchCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const settle = 100 * time.Millisecond
		rec := newRecorder()
		notify := make(chan struct{}, 1)
		tb := newTable(notify)
		m := &Membership{
			cfg:    Config{Name: "node1", Settle: settle},
			log:    slog.New(slog.DiscardHandler),
			table:  tb,
			notify: notify,
			stop:   make(chan struct{}),
		}
		calls := 0
		m.cfg.OnChange = func(urls []string) {
			rec.onChange(urls)
			calls++
			if calls == 2 {
				// Lands after watch read the members and drained
				// notify: it must come out in the next call.
				tb.NotifyJoin(fakeNode(5))
			}
		}
		tb.NotifyJoin(fakeNode(1)) // self, as Create does
		<-notify
		m.wg.Add(1)
		go m.watch()
		synctest.Wait()

		tb.NotifyJoin(fakeNode(2))
		tb.NotifyJoin(fakeNode(3))
		time.Sleep(settle / 2)
		tb.NotifyJoin(fakeNode(4)) // still within the first Settle
		synctest.Wait()
		if got := len(rec.all()); got != 1 {
			t.Errorf("%d OnChange calls before Settle ended, want 1", got)
		}
		time.Sleep(settle / 2)
		synctest.Wait()
		time.Sleep(settle)
		synctest.Wait()
		if got, want := rec.last(), urls(1, 2, 3, 4, 5); !slices.Equal(got, want) {
			t.Errorf("OnChange got %v one Settle after the event sent during OnChange, want %v", got, want)
		}
		tb.NotifyUpdate(fakeNode(3)) // same URL: no call
		time.Sleep(settle)
		synctest.Wait()
		tb.NotifyLeave(fakeNode(2))
		time.Sleep(settle)
		synctest.Wait()

		want := [][]string{urls(1), urls(1, 2, 3, 4), urls(1, 2, 3, 4, 5), urls(1, 3, 4, 5)}
		if got := rec.all(); !equalCalls(got, want) {
			t.Errorf("OnChange calls %v, want %v", got, want)
		}
		if got := m.Changes(); got != uint64(len(want)) {
			t.Errorf("Changes() = %d, want %d", got, len(want))
		}
		wantMembers := []Member{
			{Name: "node1", Addr: "127.0.0.1:7001", PeerURL: peerURL(1)},
			{Name: "node3", Addr: "127.0.0.1:7003", PeerURL: peerURL(3)},
			{Name: "node4", Addr: "127.0.0.1:7004", PeerURL: peerURL(4)},
			{Name: "node5", Addr: "127.0.0.1:7005", PeerURL: peerURL(5)},
		}
		if got := m.Members(); !slices.Equal(got, wantMembers) {
			t.Errorf("Members() = %v, want %v", got, wantMembers)
		}
		if got := m.Addr(); got != "127.0.0.1:7001" {
			t.Errorf("Addr() = %q, want 127.0.0.1:7001", got)
		}
		m.stopLocked()
	})
}
