package proc

// StripControls returns a copy whose text has terminal control
// sequences removed: Result.StdoutText and StderrText, the lines of the
// line readers, OnLine callbacks and the line waits see what a person
// reads on the screen, without colours, cursor movements, window titles
// or hyperlinks. Result.Stdout and Result.Stderr keep the raw bytes, as
// do Tee and the raw readers of ToReader, so nothing is lost.
//
// What goes: the escape sequences of ECMA-48 (CSI, such as "\x1b[1;31m";
// OSC, such as a window title, ended by BEL or ST; DCS, SOS, PM and APC
// strings; two- and three-byte escapes such as "\x1b(B"), and the C0
// controls and DEL, except "\n", "\t" and "\r". A carriage return stays,
// so the line readers still split a progress bar's redraws at it (see
// encoding.CR). The stripping follows a sequence across chunks and
// lines, as a terminal does; an unfinished sequence at the end of the
// output is dropped. Bytes 0x80 to 0x9F are left alone: in UTF-8 text
// they are parts of characters, not the 8-bit forms of the controls.
//
// It applies with or without Terminal: many programs print colour on a
// pipe when told to (--color=always, FORCE_COLOR).
func (c *Cmd) StripControls() *Cmd { return c.with(func(n *Cmd) { n.strip = true }) }

// stripState is where a stripper is within a control sequence.
type stripState uint8

const (
	stripText      stripState = iota
	stripEsc                  // after ESC
	stripEscInter             // ESC and intermediate bytes (0x20-0x2F)
	stripCSI                  // ESC [ and parameters or intermediates
	stripString               // inside OSC, DCS, SOS, PM or APC
	stripStringEsc            // ESC inside such a string: ST if "\\" follows
)

// stripper removes control sequences from text fed to it in pieces (see
// StripControls); the zero value is ready, in the text state.
type stripper struct{ state stripState }

// isKeptControl reports whether b is a C0 control that stays: newline,
// tab and carriage return.
func isKeptControl(b byte) bool { return b == '\n' || b == '\t' || b == '\r' }

// appendStripped appends src without its control sequences to dst.
func (s *stripper) appendStripped(dst []byte, src string) []byte {
	for i := 0; i < len(src); i++ {
		b := src[i]
		switch s.state {
		case stripText:
			switch {
			case b == 0x1b:
				s.state = stripEsc
			case b < 0x20 && !isKeptControl(b), b == 0x7f:
			default:
				dst = append(dst, b)
			}
		case stripEsc:
			switch {
			case b == '[':
				s.state = stripCSI
			case b == ']', b == 'P', b == 'X', b == '^', b == '_':
				s.state = stripString
			case b >= 0x20 && b <= 0x2f:
				s.state = stripEscInter
			case b == 0x1b:
				// ESC ESC: the second one starts afresh.
			case b >= 0x30 && b <= 0x7e:
				s.state = stripText // a two-byte escape (ESC 7, ESC =, ...)
			default:
				// A control or a byte past ASCII cancels the escape and
				// counts as text.
				s.state = stripText
				i--
			}
		case stripEscInter:
			switch {
			case b >= 0x20 && b <= 0x2f:
			case b >= 0x30 && b <= 0x7e:
				s.state = stripText
			default:
				s.state = stripText
				i--
			}
		case stripCSI:
			switch {
			case b >= 0x20 && b <= 0x3f: // parameters and intermediates
			case b >= 0x40 && b <= 0x7e: // the final byte
				s.state = stripText
			case b == 0x1b:
				s.state = stripEsc
			case b == 0x18 || b == 0x1a: // CAN, SUB cancel the sequence
				s.state = stripText
			case b < 0x20:
				// A terminal executes a control met inside a sequence.
				if isKeptControl(b) {
					dst = append(dst, b)
				}
			default:
				// DEL or a byte past ASCII: not a sequence after all.
				s.state = stripText
				i--
			}
		case stripString:
			switch b {
			case 0x07: // BEL ends an OSC (xterm)
				s.state = stripText
			case 0x1b:
				s.state = stripStringEsc
			case 0x18, 0x1a:
				s.state = stripText
			}
		case stripStringEsc:
			if b == '\\' {
				s.state = stripText // ST
			} else {
				// Another escape ends the string and begins itself.
				s.state = stripEsc
				i--
			}
		}
	}
	return dst
}

// stripControls returns s without its control sequences (a whole text:
// an unfinished sequence at its end is dropped).
func stripControls(s string) string {
	var st stripper
	return string(st.appendStripped(make([]byte, 0, len(s)), s))
}
