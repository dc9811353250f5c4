package resp

import (
	"bytes"
	"math"
	"testing"

	"github.com/tidwall/redcon"
)

func TestWriter(t *testing.T) {
	tests := []struct {
		name         string
		write        func(w *writer)
		resp2, resp3 string
	}{
		{"null", func(w *writer) { w.Null() }, "$-1\r\n", "_\r\n"},
		{"null array", func(w *writer) { w.NullArray() }, "*-1\r\n", "_\r\n"},
		{"map", func(w *writer) {
			w.Map(2)
			w.BulkString("a")
			w.Int(1)
			w.BulkString("b")
			w.Null()
		}, "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$-1\r\n", "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n_\r\n"},
		{"empty map", func(w *writer) { w.Map(0) }, "*0\r\n", "%0\r\n"},
		{"set", func(w *writer) {
			w.Set(2)
			w.Simple("x")
			w.Simple("y")
		}, "*2\r\n+x\r\n+y\r\n", "~2\r\n+x\r\n+y\r\n"},
		{"double", func(w *writer) { w.Double(3.25) }, "$4\r\n3.25\r\n", ",3.25\r\n"},
		{"double integral", func(w *writer) { w.Double(10) }, "$2\r\n10\r\n", ",10\r\n"},
		{"double large", func(w *writer) { w.Double(1e21) }, "$5\r\n1e+21\r\n", ",1e+21\r\n"},
		{"double inf", func(w *writer) { w.Double(math.Inf(1)) }, "$3\r\ninf\r\n", ",inf\r\n"},
		{"double -inf", func(w *writer) { w.Double(math.Inf(-1)) }, "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"double nan", func(w *writer) { w.Double(math.NaN()) }, "$3\r\nnan\r\n", ",nan\r\n"},
		{"true", func(w *writer) { w.Bool(true) }, ":1\r\n", "#t\r\n"},
		{"false", func(w *writer) { w.Bool(false) }, ":0\r\n", "#f\r\n"},
		{"verbatim", func(w *writer) { w.Verbatim("txt", []byte("a\r\nb")) }, "$4\r\na\r\nb\r\n", "=8\r\ntxt:a\r\nb\r\n"},
		{"empty verbatim", func(w *writer) { w.Verbatim("txt", nil) }, "$0\r\n\r\n", "=4\r\ntxt:\r\n"},
		{"array", func(w *writer) {
			w.Array(2)
			w.Bulk([]byte("\x00\r\n"))
			w.Int(-7)
		}, "*2\r\n$3\r\n\x00\r\n\r\n:-7\r\n", "*2\r\n$3\r\n\x00\r\n\r\n:-7\r\n"},
		{"simple", func(w *writer) { w.Simple("OK") }, "+OK\r\n", "+OK\r\n"},
		{"simple with a line break", func(w *writer) { w.Simple("a\r\nb") }, "+a  b\r\n", "+a  b\r\n"},
		{"error", func(w *writer) { w.Error("ERR x") }, "-ERR x\r\n", "-ERR x\r\n"},
		{"error with a line break", func(w *writer) { w.Error("ERR a\nb") }, "-ERR a b\r\n", "-ERR a b\r\n"},
		{"scratch reuse", func(w *writer) {
			w.Map(1)
			w.Null()
			w.Set(3)
		}, "*2\r\n$-1\r\n*3\r\n", "%1\r\n_\r\n~3\r\n"},
	}
	for _, tt := range tests {
		for _, pc := range []struct {
			proto int
			want  string
		}{{resp2, tt.resp2}, {resp3, tt.resp3}} {
			t.Run(tt.name+"/RESP"+string(rune('0'+pc.proto)), func(t *testing.T) {
				var buf bytes.Buffer
				w := &writer{w: redcon.NewWriter(&buf), proto: pc.proto}
				tt.write(w)
				if err := w.w.Flush(); err != nil {
					t.Fatal(err)
				}
				if got := buf.String(); got != pc.want {
					t.Errorf("RESP%d: wrote %q, want %q", pc.proto, got, pc.want)
				}
			})
		}
	}
}
