package resp

import (
	"testing"
)

func TestSplitKey(t *testing.T) {
	f := newRegistry(t)
	tests := []struct {
		raw       string
		group     string
		key       string
		rationale string
	}{
		{"scores:Tom", "scores", "Tom", "a configured group"},
		{"scores:a:b", "scores", "a:b", "split at the first colon only"},
		{"scores:", "scores", "", "the empty key of scores, which the engine refuses"},
		{"scores", "default", "scores", "no colon"},
		{"Scores:Tom", "default", "Scores:Tom", "group names are case-sensitive"},
		{"key:000000001234", "default", "key:000000001234", "redis-benchmark's keys: no such group"},
		{"default:x", "default", "default:x", "the default group is never addressed by prefix"},
		{":x", "default", ":x", "an empty prefix names no group"},
		{"", "default", "", "the empty key"},
		{"plain", "default", "plain", "a plain key"},
		{"errs:\x00\r\n", "errs", "\x00\r\n", "keys are binary"},
	}
	for _, tt := range tests {
		t.Run(tt.rationale, func(t *testing.T) {
			raw := []byte(tt.raw)
			g, key := splitKey(f.reg, f.def, raw, new(keyArena))
			if g.Name() != tt.group || key != tt.key {
				t.Errorf("splitKey(%q) = %s, %q; want %s, %q", tt.raw, g.Name(), key, tt.group, tt.key)
			}
			for i := range raw {
				raw[i] = '!' // the arguments are borrowed: the key must not alias them
			}
			if key != tt.key {
				t.Errorf("splitKey(%q) key changed to %q with its argument", tt.raw, key)
			}
		})
	}
}

func FuzzSplitKey(f *testing.F) {
	for _, seed := range []string{"scores:Tom", "scores:", "scores:a:b", "default:x", ":x", "", "key:000000001234", "errs:\x00", "scores"} {
		f.Add([]byte(seed))
	}
	r := newRegistry(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := string(raw)
		g, key := splitKey(r.reg, r.def, raw, new(keyArena))
		if g == nil {
			t.Fatalf("splitKey(%q) returned no group", in)
		}
		if g == r.def {
			if key != in {
				t.Errorf("splitKey(%q) = default, %q; want the whole key", in, key)
			}
			return
		}
		if r.reg.GetGroup(g.Name()) != g {
			t.Errorf("splitKey(%q) = group %q, not in the registry", in, g.Name())
		}
		if got := g.Name() + ":" + key; got != in {
			t.Errorf("splitKey(%q) = %s, %q; they reassemble to %q", in, g.Name(), key, got)
		}
	})
}

func TestKeyArena(t *testing.T) {
	var a keyArena
	tests := []struct {
		key       string
		rationale string
	}{
		{"", "the empty key"},
		{"k", "one byte"},
		{string(make([]byte, keyBlockSize/8)), "the longest key carved from a block"},
		{string(make([]byte, keyBlockSize/8+1)), "a longer key is copied on its own"},
		{string(make([]byte, 3*keyBlockSize)), "a key longer than a block"},
	}
	var kept []string
	var want []string
	for round := range 40 { // past several blocks' ends
		for _, tt := range tests {
			raw := []byte(tt.key)
			if len(raw) > 0 {
				raw[0] = byte(round)
			}
			s := a.copy(raw)
			if s != string(raw) {
				t.Fatalf("%s: copy = %q, want %q", tt.rationale, s, raw)
			}
			for i := range raw {
				raw[i] = '!' // the argument is borrowed: the copy must not alias it
			}
			kept, want = append(kept, s), append(want, string(s))
		}
	}
	for i := range kept {
		if kept[i] != want[i] {
			t.Fatalf("copy %d changed after later copies: %q, want %q", i, kept[i], want[i])
		}
	}
	if n := testing.AllocsPerRun(100, func() { a.copy([]byte("key:000000001234")) }); n > 0.1 {
		t.Errorf("copy of a short key: %v allocations, want about 1/%d", n, keyBlockSize/16)
	}
}
