//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package proc_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gotether/tether/proc"
)

// Terminal runs a program on a pseudo-terminal of its own: it sees a
// terminal on stdin and stdout, so it colours its output, and
// StripControls gives the text without the colour. The terminal ends
// lines with "\r\n".
func ExampleCmd_Terminal() {
	r, err := proc.Command("sh", "-c", `if [ -t 0 ] && [ -t 1 ]; then printf '\033[32mok\033[0m %s columns\n' "$COLUMNS"; fi`).
		Terminal(24, 100).StripControls().Timeout(10 * time.Second).Output(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", r.StdoutText())
	fmt.Printf("%q\n", r.Stdout)
	// Output:
	// "ok 100 columns\r\n"
	// "\x1b[32mok\x1b[0m 100 columns\r\n"
}

// A prompt has no newline: WaitForPrompt sees it, and Stdin answers it
// as if typed.
func ExampleRunningProcess_WaitForPrompt() {
	ctx := context.Background()
	p, err := proc.Command("sh", "-c", `stty -echo; printf 'Name: '; read name; stty echo; echo "hello $name"`).
		Terminal(24, 80).Timeout(10 * time.Second).Start(ctx)
	if err != nil {
		panic(err)
	}
	prompt, _ := p.WaitForPrompt(ctx, "Name:")
	_ = p.Stdin().WriteLine("Ada")
	r, _ := p.Wait(ctx)
	fmt.Printf("%q %q\n", prompt, r.StdoutText())
	// Output: "Name: " "Name: hello Ada\r\n"
}
