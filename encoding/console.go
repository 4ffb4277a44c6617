package encoding

import "errors"

// ErrNoConsole is returned by ConsoleOutput on Windows when the process
// has no console (a service, a GUI program, a detached child).
var ErrNoConsole = errors.New("encoding: no console")

// ConsoleOutput returns the encoding console programs started by this
// process are expected to write in.
//
// On Windows it is the console's output code page (GetConsoleOutputCP:
// cp437 or cp850 in the west, cp866 in Russia, cp932 in Japan, UTF-8 when
// the code page is 65001), which children inherit and use for their
// console output. Without a console it returns an error matching
// ErrNoConsole; a code page this package cannot decode returns an
// *UnknownError. Programs that write through the ANSI APIs use GetACP's
// code page instead (cp1252, cp1251, ...): see [CodePage].
//
// Elsewhere it returns UTF8 and no error: Unix terminals have no code
// page, and programs write in their locale's charset, which is UTF-8 on
// every current system. A child run under a non-UTF-8 locale (LANG with
// a charset such as ISO-8859-1) needs that charset passed to Lookup
// explicitly.
func ConsoleOutput() (Encoding, error) { return consoleOutput() }
