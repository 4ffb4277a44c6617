package encoding

import (
	"fmt"

	"golang.org/x/sys/windows"
)

func consoleOutput() (Encoding, error) {
	cp, err := windows.GetConsoleOutputCP()
	if err != nil {
		return Encoding{}, fmt.Errorf("%w: GetConsoleOutputCP: %w", ErrNoConsole, err)
	}
	if cp == 0 {
		return Encoding{}, ErrNoConsole
	}
	return CodePage(int(cp))
}
