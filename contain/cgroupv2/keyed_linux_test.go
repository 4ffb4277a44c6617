package cgroupv2

import "testing"

func TestKeyedLookup(t *testing.T) {
	kv := keyed("usage_usec 123\nuser_usec 100\nsystem_usec 23\npopulated 1\nbad x\nempty\nlast 7")
	for _, tc := range []struct {
		key  string
		want uint64
		ok   bool
	}{
		{"usage_usec", 123, true},
		{"user_usec", 100, true}, // not a prefix match of usage_usec
		{"system_usec", 23, true},
		{"populated", 1, true},
		{"last", 7, true}, // no trailing newline
		{"bad", 0, false},
		{"empty", 0, false},
		{"usec", 0, false},
		{"missing", 0, false},
	} {
		if v, ok := kv.lookup(tc.key); v != tc.want || ok != tc.ok {
			t.Errorf("lookup(%q) = %d, %v; want %d, %v", tc.key, v, ok, tc.want, tc.ok)
		}
	}
	if keyed(nil).get("x") != 0 {
		t.Error("get on an empty file")
	}
}
