//go:build unix && !linux

package proc

// fionread is FIONREAD, _IOR('f', 127, int), the same on macOS and the
// BSDs (x/sys/unix does not export it).
const fionread = 0x4004667f
