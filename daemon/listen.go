package daemon

// IsLoopbackListen reports whether the listen address addr (HOST:PORT) binds loopback only:
// the rule serve applies before it serves without tokens (an empty host, as in ":9460",
// binds every interface). scan -metrics-addr applies the same rule.
func IsLoopbackListen(addr string) bool { return isLoopbackListen(addr) }
