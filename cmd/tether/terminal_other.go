//go:build !linux

package main

import (
	"os"

	"github.com/gotether/tether/proc"
)

// terminal is Linux only: elsewhere tether does not give the program the
// terminal's foreground (waitid with WSTOPPED and WNOWAIT, which watch
// the program's stops without reaping it, are not in golang.org/x/sys
// there), and nothing changes in a terminal.
type terminal struct{}

func foregroundTerminal() *terminal                       { return nil }
func (*terminal) prepare(cmd *proc.Cmd) *proc.Cmd         { return cmd }
func (*terminal) started(int)                             {}
func (*terminal) startFailed()                            {}
func (*terminal) changes() <-chan os.Signal               { return nil }
func (*terminal) changed(*proc.RunningProcess, os.Signal) {}
func (*terminal) end(bool)                                {}
