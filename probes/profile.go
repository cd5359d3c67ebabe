package probes

import (
	"fmt"
	"time"
)

// unreachable gates stages that need a live host: when the negotiate connection was refused or
// timed out, or the peer is not SMB, another connection would only repeat the answer.
func unreachable(_ *Session, r *Result) string {
	neg, ok := r.Stages[StageNegotiate]
	if !ok || neg.Status != StageErrored {
		return ""
	}
	switch st := neg.class; st {
	case StatusConnectionRefused, StatusConnectionTimeout, StatusNotSMB:
		return "negotiate found the host " + string(st)
	}
	return ""
}

// TargetErrorResult is the record of a target that could not be probed at all (e.g. a name
// that did not resolve): nothing given on the command line is silently dropped.
func TargetErrorResult(t Target, err error) *Result {
	return &Result{
		Schema: SchemaVersion, Type: "host", IP: ipString(t), Host: t.Host, Port: t.Port,
		Status: StatusError, Error: err.Error(), Timestamp: time.Now().UTC(),
		Shares: []Share{}, Findings: []Finding{}, Stages: map[StageName]*StageResult{},
	}
}

// PanicResult is the record of a target whose probe panicked outside a pipeline.
func PanicResult(t Target, v any, _ []byte) *Result {
	return TargetErrorResult(t, fmt.Errorf("internal error (panic) probing %s: %v", t, v))
}

func ipString(t Target) string {
	if !t.Addr.IsValid() {
		return ""
	}
	return t.Addr.String()
}

// treeRan gates stages that use trees the tree stage connected: they need it to have run, not
// to have succeeded on IPC$ (a server may refuse IPC$ and still serve a share anonymously).
func treeRan(_ *Session, r *Result) string {
	if tr, ok := r.Stages[StageTree]; !ok || tr.Status == StageSkipped {
		return "needs the tree stage, which did not run"
	}
	return ""
}

// coercionGate runs the coercion stage when some identity holds a session: anonymous or
// guest (anySession), or the -u account whose logon the auth stage made.
func coercionGate(s *Session, r *Result) string {
	why := anySession(s, r)
	if why == "" || s.authLoggedOn(r) {
		return ""
	}
	if s.Opts.Credentials != nil {
		return why + ", and the credentialed logon did not succeed"
	}
	return why
}

// anySession gates stages that need an anonymous or guest session.
func anySession(s *Session, r *Result) string {
	if s.nullSession || s.guestSession {
		return ""
	}
	_, n := r.Stages[StageSession]
	_, g := r.Stages[StageGuest]
	if !n && !g {
		return "needs the session or guest stage"
	}
	return "no anonymous or guest session was granted"
}
