package main

import (
	"net"
	"slices"

	"github.com/smbsweep/smbsweep/daemon"
	"github.com/smbsweep/smbsweep/probes"
)

// privateOutput reports whether scan's -o may carry what must stay private (issue 17): the
// results of a credentialed logon, or a file's content and a directory's listing (the read and
// ls stages, which need credentials). Such a file is created 0600 (output.OpenFile); -trace
// always is.
func (f *scanFlags) privateOutput() bool {
	return f.creds.user != "" || slices.ContainsFunc(f.stages, probes.Credentialed)
}

// checkMetricsExposure applies serve's rule to scan's -metrics-addr: an address that is not
// loopback (":9460" binds every interface) serves without authentication, which serve refuses
// without tokens. scan has no tokens, so it refuses unless -metrics-public accepts it.
func checkMetricsExposure(addr string, public bool) error {
	if public || daemon.IsLoopbackListen(addr) {
		return nil
	}
	_, port, _ := net.SplitHostPort(addr)
	return usagef("-metrics-addr %s is not a loopback address: the metrics would be served, unauthenticated, to anyone who can reach it; use -metrics-addr 127.0.0.1:%s (scrape through an SSH tunnel or an authenticating proxy), or add -metrics-public to accept that", addr, port)
}
