package proc

import (
	"context"
	"slices"
	"testing"
)

// TestHubHistoryKeepsThePublishOrderAcrossStreams: a reader of both
// streams that starts late gets the history in the order the lines were
// published, as a reader that was there all along got them; before, it
// got all of stdout's history and then all of stderr's.
func TestHubHistoryKeepsThePublishOrderAcrossStreams(t *testing.T) {
	h := newHub(100, 1<<20, Block, nil)
	order := []Line{{Stream: Stdout, Text: "o1"}, {Stream: Stderr, Text: "e1"}, {Stream: Stderr, Text: "e2"}, {Stream: Stdout, Text: "o2"}, {Stream: Stderr, Text: "e3"}}
	early := h.subscribe([]Stream{Stdout, Stderr}, false, true)
	for _, l := range order {
		h.publish(l)
	}
	late := h.subscribe([]Stream{Stdout, Stderr}, false, true)
	h.close(Event{Kind: EventExited})
	read := func(s *sub) []string {
		var got []string
		for {
			ev, ok := h.next(context.Background(), s)
			if !ok {
				return got
			}
			got = append(got, ev.Line.Text)
		}
	}
	want := []string{"o1", "e1", "e2", "o2", "e3"}
	if got := read(early); !slices.Equal(got, want) {
		t.Fatalf("the live reader got %q", got)
	}
	if got := read(late); !slices.Equal(got, want) {
		t.Fatalf("the history gave %q; want the publish order %q", got, want)
	}
}
