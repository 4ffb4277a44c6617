package proctest

// killSignal is how a Result names the kill that ends a timed-out,
// cancelled or killed run: Windows has no signals, and proc reports
// os.Kill's own name.
const killSignal = "killed"
