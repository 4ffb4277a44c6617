//go:build linux

package sysproc

import (
	"os"
	"testing"
)

func TestParseStatCommWithParens(t *testing.T) {
	line := []byte("4242 (a) (b c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 555 1000 25 18446744073709551615\n")
	s, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pid != 4242 || s.Comm != "a) (b c)" || s.State != 'S' || s.Ppid != 1 || s.Pgrp != 4242 ||
		s.UserTicks != 7 || s.SystemTicks != 3 || s.StartTicks != 555 || s.RSSPages != 25 {
		t.Fatalf("parsed %+v", s)
	}
}

func TestParseStatRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "12", "12 (x", "x (y) S 1"} {
		if _, err := parseStat([]byte(in)); err == nil {
			t.Errorf("parseStat(%q) succeeded", in)
		}
	}
}

func TestAliveSelfAndNonexistent(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("the test process is not alive")
	}
	if Alive(-1) || Alive(0) {
		t.Fatal("non-positive pids must not be alive")
	}
	if Alive(1 << 30) {
		t.Fatal("an impossible pid is alive")
	}
}
