package group

import (
	"testing"
	"unsafe"
)

// TestKeyedView checks that a view made for a key is stored under that key
// without a copy, and under any other key with one, and that making it
// costs one allocation.
func TestKeyedView(t *testing.T) {
	b := []byte("value")
	v := keyedView("key", b)
	if v.String() != "value" || v.Len() != 5 || string(v.ByteSlice()) != "value" {
		t.Fatalf("keyedView(key, value) = %q (len %d), want value", v.String(), v.Len())
	}
	if kv := v.joined("key"); kv != "keyvalue" || unsafe.StringData(kv) != unsafe.StringData(v.s) {
		t.Errorf("joined(key) = %q, want keyvalue without a copy", kv)
	}
	if kv := v.joined("kez"); kv != "kezvalue" || unsafe.StringData(kv) == unsafe.StringData(v.s) {
		t.Errorf("joined(kez) = %q, want a new kezvalue", kv)
	}
	if kv := StringView("value").joined("key"); kv != "keyvalue" {
		t.Errorf("StringView(value).joined(key) = %q, want keyvalue", kv)
	}
	for _, size := range []int{5, 64, 4096} {
		b := make([]byte, size)
		if n := testing.AllocsPerRun(100, func() { v = keyedView("key", b) }); n != 1 {
			t.Errorf("keyedView of %d bytes allocates %v times, want 1", size, n)
		}
	}
}
