//go:build windows

package proc

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// isBatchFile reports whether Windows would run path through cmd.exe: a
// .bat or .cmd file. Win32 drops trailing dots and spaces from a file
// name, so "x.bat." and "x.bat " are batch files too.
func isBatchFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(strings.TrimRight(path, ". ")))
	return ext == ".bat" || ext == ".cmd"
}

// batchCommandLine makes a batch file run safely. CreateProcess runs a
// .bat or .cmd file through cmd.exe, on the command line os/exec builds
// for CommandLineToArgvW, and cmd.exe parses it by other rules: under
// Wine 8, `a b" & echo X > f & "` and `"&echo X>f` ran the echo, `a>b`
// redirected the script's output into a file b, `a^b` arrived as `ab`,
// `%PATH%` was expanded and `a;b` split in two. So tether starts cmd.exe
// itself (from the system directory, not PATH) with a command line it
// builds: every argument cmd.exe would parse is quoted, and an argument
// that no quoting protects is refused before spawning (see
// appendBatchArg).
func batchCommandLine(program string, ecmd *exec.Cmd) error {
	if !isBatchFile(ecmd.Path) {
		return nil
	}
	// cmd.exe gets the absolute path, so that it never searches for the
	// script; a relative one is relative to the child's directory, as
	// os/exec has it.
	script, err := filepath.Abs(inDir(ecmd.Dir, ecmd.Path))
	if err != nil {
		return &StartError{Program: program, Err: err}
	}
	if strings.ContainsAny(script, `"%`) || strings.ContainsFunc(script, isBatchControl) {
		return &InvalidError{Program: program, Reason: `the batch file's path contains '"', '%' or a control character, which cmd.exe would not take literally`}
	}
	sysDir, err := windows.GetSystemDirectory()
	if err != nil {
		return &StartError{Program: program, Err: err}
	}
	// /d: no AutoRun commands from the registry; /v:off: no delayed
	// expansion, so '!' is literal; /s /c: run the rest after removing
	// its first and last quote, and keep everything else as it is.
	line := []byte(`cmd.exe /d /v:off /s /c ""`)
	line = append(line, script...)
	line = append(line, '"')
	for i, a := range ecmd.Args[1:] {
		line = append(line, ' ')
		if line, err = appendBatchArg(line, a); err != nil {
			return &InvalidError{Program: program, Reason: "argument " + strconv.Itoa(i+1) + " of a batch file " + err.Error()}
		}
	}
	line = append(line, '"')
	ecmd.Path = filepath.Join(sysDir, "cmd.exe")
	if ecmd.SysProcAttr == nil {
		ecmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	ecmd.SysProcAttr.CmdLine = string(line)
	return nil
}

// batchArgError says why an argument cannot reach a batch file intact.
type batchArgError string

func (e batchArgError) Error() string { return string(e) }

// appendBatchArg appends arg for cmd.exe. A word of letters, digits and
// -_.:/\+@#~ goes as it is; anything else is put in double quotes, where
// cmd.exe takes & | < > ^ ( ) ! , ; = and white space literally (the
// script sees the quotes in %1 and not in %~1). Backslashes that end a
// quoted argument are doubled, so that a program the script passes %*
// to, parsing by CommandLineToArgvW rules, gets them back as they were.
// Refused: '"', which would end the quoting; '%', which cmd.exe expands
// even inside quotes; line breaks and other control characters (tab
// aside).
func appendBatchArg(line []byte, arg string) ([]byte, error) {
	switch {
	case strings.ContainsRune(arg, '"'):
		return nil, batchArgError(`contains '"', which would end cmd.exe's quoting`)
	case strings.ContainsRune(arg, '%'):
		return nil, batchArgError("contains '%', which cmd.exe expands even inside quotes")
	case strings.ContainsFunc(arg, isBatchControl):
		return nil, batchArgError("contains a line break or another control character")
	}
	if arg != "" && !strings.HasSuffix(arg, `\`) && !strings.ContainsFunc(arg, needsBatchQuote) {
		return append(line, arg...), nil
	}
	line = append(line, '"')
	line = append(line, arg...)
	for i := len(arg) - 1; i >= 0 && arg[i] == '\\'; i-- {
		line = append(line, '\\')
	}
	return append(line, '"'), nil
}

func isBatchControl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

func needsBatchQuote(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune(`-_.:/\+@#~`, r)
}
