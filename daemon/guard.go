package daemon

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/smbsweep/smbsweep/scanner"
)

// This file keeps web pages out of the API. A page the operator opens can make the browser send
// requests to 127.0.0.1; without these checks it could drive the API (cross-site requests) and,
// by rebinding its own DNS name to 127.0.0.1, read the answers. The defences:
//
//   - Host must name this server: the address the connection arrived on (or localhost when that
//     is loopback), or a name listed in api.hosts. A rebound name is neither.
//   - A present Origin must match Host, and Sec-Fetch-Site, when a browser sends it, must not be
//     cross-site or same-site: a page elsewhere cannot use the API even without DNS tricks.
//   - Bodies of the probe and scan endpoints must be Content-Type: application/json, which a
//     page can only send cross-origin after a CORS preflight that the API never answers.

// hostName is an entry of api.hosts: a lowercase name or address, with or without a port.
type hostName struct {
	host string
	port string // "" = any port
}

// parseHostNames checks api.hosts: host names or addresses, each optionally with :port.
func parseHostNames(list []string) ([]hostName, error) {
	out := make([]hostName, 0, len(list))
	for _, s := range list {
		e := strings.TrimSpace(s)
		if strings.Contains(e, "/") {
			return nil, fmt.Errorf("%q: give a host name as clients put it in the Host header (e.g. smbsweep.example.com or smbsweep.example.com:8443), not a URL", s)
		}
		h, port := e, ""
		if hh, p, err := net.SplitHostPort(e); err == nil {
			n, perr := strconv.Atoi(p)
			if perr != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("%q: port must be 1-65535", s)
			}
			h, port = hh, p
		}
		h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
		if a, err := netip.ParseAddr(h); err == nil {
			if a.Zone() != "" {
				return nil, fmt.Errorf("%q: IPv6 zones are not accepted", s)
			}
			h = a.Unmap().String()
		} else if reason := scanner.CheckHostname(h); reason != "" {
			return nil, fmt.Errorf("%q: not a host name or address: %s", s, reason)
		}
		out = append(out, hostName{host: h, port: port})
	}
	return out, nil
}

// splitHostHeader splits a Host header (or an Origin's host) into a lowercase host without
// brackets or trailing dot, and the port ("" when absent).
func splitHostHeader(hp string) (host, port string) {
	host = hp
	if h, p, err := net.SplitHostPort(hp); err == nil {
		host, port = h, p
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	return host, port
}

// localAddr is the address the request's connection arrived on; without one (a handler called
// directly) the configured listen address.
func localAddr(r *http.Request, listen string) netip.AddrPort {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
		}
	}
	host, port, _ := net.SplitHostPort(listen)
	p, _ := strconv.Atoi(port)
	if host == "localhost" {
		host = "127.0.0.1"
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		a = netip.IPv4Unspecified()
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p))
}

// hostAllowed reports whether the Host header names this server.
func hostAllowed(hostHeader string, local netip.AddrPort, names []hostName) bool {
	if hostHeader == "" {
		return false
	}
	host, port := splitHostHeader(hostHeader)
	for _, n := range names {
		if n.host == host && (n.port == "" || n.port == port) {
			return true
		}
	}
	if port == "" {
		port = "80"
	}
	if port != strconv.Itoa(int(local.Port())) {
		return false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Zone() == "" && a.Unmap() == local.Addr()
	}
	return host == "localhost" && local.Addr().IsLoopback()
}

// originMatches reports whether an Origin header names the same server as Host: same host,
// and the same port when Host carries one (Origin's port defaults to its scheme's).
func originMatches(origin, hostHeader string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	oh, op := splitHostHeader(u.Host)
	if op == "" {
		op = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	hh, hp := splitHostHeader(hostHeader)
	return oh == hh && (hp == "" || hp == op)
}

// browserGuard refuses requests that did not come from a client of this server (see the top of
// the file): nil when the request may go on.
func browserGuard(r *http.Request, cfg *Config) *apiError {
	local := localAddr(r, cfg.Listen)
	if !hostAllowed(r.Host, local, cfg.API.hosts) {
		return &apiError{code: http.StatusForbidden, msg: fmt.Sprintf(
			"Host %q does not name this server: use the address it listens on (%s) or localhost, or list the name under api.hosts",
			strings.ToValidUTF8(r.Host, "?"), local)}
	}
	if o := r.Header.Get("Origin"); o != "" && !originMatches(o, r.Host) {
		return &apiError{code: http.StatusForbidden, msg: fmt.Sprintf(
			"Origin %q does not match Host %q: the API does not serve requests from other web sites", strings.ToValidUTF8(o, "?"), strings.ToValidUTF8(r.Host, "?"))}
	}
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs == "cross-site" || sfs == "same-site" {
		return &apiError{code: http.StatusForbidden, msg: "Sec-Fetch-Site: " + sfs + ": the API does not serve requests that web pages of other sites send"}
	}
	return nil
}

// checkJSONBody refuses a body that is not declared as JSON (415).
func checkJSONBody(r *http.Request) *apiError {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		return nil
	}
	got := "no Content-Type"
	if ct != "" {
		got = fmt.Sprintf("Content-Type %q", strings.ToValidUTF8(ct, "?"))
	}
	return &apiError{code: http.StatusUnsupportedMediaType, msg: got +
		": send the JSON body with Content-Type: application/json (curl: -H 'Content-Type: application/json')"}
}

// clientKey is what the per-client limit counts by: the peer's address, and for IPv6 its /64
// (one host usually has a whole /64 to pick source addresses from).
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
