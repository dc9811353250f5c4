package resp

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/redcon"
)

func TestStats(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RequirePass = "pw" })
	c, r := dial(t, f.addr)
	steps := []struct{ send, reply string }{
		{"GET scores:Tom\r\n", "-NOAUTH Authentication required.\r\n"},              // get: rejected
		{"AUTH wrong\r\n", "-" + string(errWrongPass) + "\r\n"},                     // auth: failed
		{"AUTH pw\r\n", "+OK\r\n"},                                                  // auth
		{"GET scores:Tom\r\n", "$3\r\n630\r\n"},                                     // get
		{"GET\r\n", "-ERR wrong number of arguments for 'get' command\r\n"},         // get: rejected
		{"NOPE\r\n", "-ERR unknown command 'NOPE', with args beginning with: \r\n"}, // unknown
		{"CLIENT NOPE\r\n", "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"}, // unknown
		{"CLIENT ID\r\n", ":1\r\n"},                                                 // client|id
		{"SELECT 1\r\n", "-" + string(errDBIndex) + "\r\n"},                         // select: failed
	}
	for _, s := range steps {
		if _, err := io.WriteString(c, s.send); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, r, len(s.reply)); got != s.reply {
			t.Errorf("%q = %q, want %q", s.send, got, s.reply)
		}
	}
	want := Stats{
		ConnectedClients:    1,
		ConnectionsReceived: 1,
		AuthFailures:        1,
		CommandsProcessed:   5,
		ErrorReplies:        6,
		UnknownCommands:     2,
		Commands: []CommandStats{
			{Name: "auth", Calls: 2, FailedCalls: 1},
			{Name: "client|id", Calls: 1},
			{Name: "get", Calls: 1, RejectedCalls: 2},
			{Name: "select", Calls: 1, FailedCalls: 1},
		},
	}
	if got := f.srv.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats() = %+v\nwant %+v", got, want)
	}

	wantInfo := "# Commandstats\r\n" +
		"cmdstat_auth:calls=2,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n" +
		"cmdstat_client|id:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_get:calls=1,usec=0,usec_per_call=0.00,rejected_calls=2,failed_calls=0\r\n" +
		"cmdstat_info:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_select:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n"
	if _, err := io.WriteString(c, "INFO commandstats\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, r, len(bulk(wantInfo))); got != bulk(wantInfo) {
		t.Errorf("INFO commandstats = %q, want %q", got, bulk(wantInfo))
	}

	if _, err := io.WriteString(c, "INFO stats\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadString('\n'); err != nil { // the bulk's length
		t.Fatal(err)
	}
	var info strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil || line == "\r\n" {
			break
		}
		info.WriteString(line)
		if strings.HasPrefix(line, "client_output_buffer_limit_disconnections:") {
			break
		}
	}
	for _, field := range []string{"total_connections_received:1\r\n", "total_commands_processed:7\r\n",
		"rejected_connections:0\r\n", "total_error_replies:6\r\n", "acl_access_denied_auth:1\r\n",
		"client_output_buffer_limit_disconnections:0\r\n"} {
		if !strings.Contains(info.String(), field) {
			t.Errorf("INFO stats lacks %q:\n%s", field, info.String())
		}
	}
}

// TestInfoSections checks which sections INFO's special arguments select:
// commandstats only with all and everything, as in Redis.
func TestInfoSections(t *testing.T) {
	f := newFixture(t, nil)
	rdb := newRedisClient(t, f.addr, 2, nil)
	ctx := t.Context()
	tests := []struct {
		args         []string
		commandstats bool
	}{
		{nil, false},
		{[]string{"default"}, false},
		{[]string{"all"}, true},
		{[]string{"everything"}, true},
		{[]string{"commandstats"}, true},
	}
	for _, tt := range tests {
		got, err := rdb.Info(ctx, tt.args...).Result()
		if err != nil {
			t.Fatalf("INFO %v: %v", tt.args, err)
		}
		if has := strings.Contains(got, "# Commandstats\r\ncmdstat_"); has != tt.commandstats {
			t.Errorf("INFO %v has commandstats: %v, want %v", tt.args, has, tt.commandstats)
		}
		if cluster := strings.Contains(got, "# Cluster\r\n"); cluster == (len(tt.args) > 0 && tt.args[0] == "commandstats") {
			t.Errorf("INFO %v has the cluster section: %v", tt.args, cluster)
		}
	}
}

// TestLastCommandCache runs commands on one client in an order that
// switches the command exec tries first, in any case, and checks that each
// ran as itself.
func TestLastCommandCache(t *testing.T) {
	f := newRegistry(t)
	h := newHandler(Config{Registry: f.reg, Default: f.def}.withDefaults(), t.Context(), time.Now)
	var buf bytes.Buffer
	cl := h.newClient(nil, redcon.NewWriter(&buf))
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"GET", "scores:Tom"}, "$3\r\n630\r\n"},
		{[]string{"get", "scores:Tom"}, "$3\r\n630\r\n"},
		{[]string{"GEt", "scores:Sam"}, "$3\r\n567\r\n"},
		{[]string{"GETX", "k"}, "-ERR unknown command 'GETX', with args beginning with: 'k' \r\n"},
		{[]string{"GE", "k"}, "-ERR unknown command 'GE', with args beginning with: 'k' \r\n"},
		{[]string{"GET", "nope"}, "$-1\r\n"},
		{[]string{"GETDEL", "nope"}, "$-1\r\n"},
		{[]string{"CLIENT", "ID"}, ":1\r\n"},
		{[]string{"client", "getname"}, "$-1\r\n"},
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"GET"}, "-ERR wrong number of arguments for 'get' command\r\n"},
	}
	for _, s := range steps {
		args := make([][]byte, len(s.args))
		for i, a := range s.args {
			args[i] = []byte(a)
		}
		buf.Reset()
		h.exec(cl, args)
		cl.w.flush()
		if got := buf.String(); got != s.want {
			t.Errorf("%q = %q, want %q", s.args, got, s.want)
		}
	}
}
