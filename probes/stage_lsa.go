package probes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

// Stages lsa and samr (issue 12 item 6): what the LSA and SAMR interfaces tell a caller without
// credentials, over the one pipe client of rpc.go and only the read-only calls of the allowlist.

const (
	// maxLSAReply caps the reassembled stub of one LSA or SAMR reply. The largest expected is
	// an LsarLookupSids reply of ridBatch names (a few KiB).
	maxLSAReply = 256 << 10
	// ridBatch is the number of SIDs of one LsarLookupSids call of the RID cycling.
	ridBatch = 100
	// MaxRIDCalls caps the LsarLookupSids calls of the RID cycling per host, so that
	// -rid-range spans at most MaxRIDRange RIDs.
	MaxRIDCalls = 20
	// MaxRIDRange is the widest -rid-range: MaxRIDCalls calls of ridBatch SIDs.
	MaxRIDRange = MaxRIDCalls * ridBatch
	// DefaultRIDFirst and DefaultRIDLast are -rid-range's default: the built-in accounts
	// (Administrator 500, Guest 501, krbtgt 502, ...) and the first accounts a domain or a
	// Samba passdb creates (from 1000).
	DefaultRIDFirst, DefaultRIDLast = 500, 1100
)

// ParseRIDRange parses -rid-range "FIRST-LAST" (decimal RIDs, FIRST <= LAST, at most
// MaxRIDRange of them). The error says how to fix a bad value.
func ParseRIDRange(s string) (first, last uint32, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("-rid-range %q: want FIRST-LAST, e.g. -rid-range %d-%d", s, DefaultRIDFirst, DefaultRIDLast)
	}
	f, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	l, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 32)
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("-rid-range %q: FIRST and LAST must be decimal RIDs from 0 to 4294967295, e.g. -rid-range %d-%d", s, DefaultRIDFirst, DefaultRIDLast)
	case f > l:
		return 0, 0, fmt.Errorf("-rid-range %q: FIRST is above LAST; write the lower RID first, e.g. -rid-range %d-%d", s, l, f)
	case l-f+1 > MaxRIDRange:
		return 0, 0, fmt.Errorf("-rid-range %q: %d RIDs, at most %d (%d LsarLookupSids calls of %d SIDs per host); narrow it, e.g. -rid-range %d-%d",
			s, l-f+1, MaxRIDRange, MaxRIDCalls, ridBatch, f, f+MaxRIDRange-1)
	}
	return uint32(f), uint32(l), nil
}

// wellKnownAdmins is S-1-5-32-544 (BUILTIN\Administrators), looked up with the domain's
// Administrator (RID 500) to tell whether SIDs translate anonymously.
var wellKnownAdmins = dcerpc.SID{Revision: 1, SubCount: 2, Authority: [6]byte{0, 0, 0, 0, 0, 5}, Sub: [15]uint32{32, 544}}

// rpcOutcome is how one identity's probe of an interface ended: exposed (the information came),
// refused by the server (status, when it was an NT status), or undecided.
type rpcOutcome struct {
	exposed *bool
	refusal *ntRefusal // the NT status that refused it, when one did
}

// eachIdentity runs probe for each identity that holds a session (anonymous, then guest). It
// returns the first transport or protocol error (the records keep what was learned before it);
// else nil when some identity's probe found the information exposed; else the first refusal
// (the stage fails with its NT status). A transport failure ends the loop: the connection is
// unusable.
func (s *Session) eachIdentity(what string, probe func(identity string) (rpcOutcome, error)) error {
	var firstErr error
	var firstRef *ntRefusal
	exposed, probed := false, 0
	for _, id := range []string{IdentityAnonymous, IdentityGuest} {
		if !s.hasSession(id) {
			continue
		}
		probed++
		out, err := probe(id)
		if out.exposed != nil && *out.exposed {
			exposed = true
		}
		if out.refusal != nil && firstRef == nil {
			firstRef = out.refusal
		}
		if err == nil {
			continue
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", id, err)
		}
		if !errors.As(err, new(*transport.ProtocolError)) && !errors.As(err, new(*dcerpc.FaultError)) {
			break
		}
	}
	switch {
	case probed == 0:
		return fmt.Errorf("%w: no anonymous or guest session to open \\%s with", errNotApplicable, strings.ToLower(what))
	case firstErr != nil:
		return firstErr // what was learned before it stays in the record
	case exposed:
		return nil
	case firstRef != nil:
		return refusal(firstRef.status, what+" ("+firstRef.what+")")
	}
	return nil
}

// openPipeFor opens the named pipe on identity's IPC$ tree tid over the protocol the host
// speaks (SMB1-only hosts: stage_smb1path.go).
func (s *Session) openPipeFor(ctx context.Context, r *Result, identity string, tid uint32, name string) (pipeTransport, wire.NTStatus, error) {
	if s.smb1Only {
		p, st, err := s.openPipeSMB1(ctx, r, identity, name)
		if p == nil {
			return nil, st, err
		}
		return p, st, err
	}
	p, st, err := s.openPipeOn(ctx, tid, name)
	if p == nil {
		return nil, st, err
	}
	return p, st, err
}

// openRPC opens pipe on IPC$ as identity and binds iface, filling *open and *bind. A server
// refusal (IPC$, the CREATE, the BIND) returns a nil client and the outcome saying so, with
// *evidence set; transport and protocol failures are errors.
func (s *Session) openRPC(ctx context.Context, r *Result, identity, pipe string, iface rpcInterface, open, bind **string, evidence *string) (*rpcClient, rpcOutcome, error) {
	tid, err := s.ipcTreeFor(ctx, r, identity)
	var ref *ntRefusal
	switch {
	case errors.As(err, &ref):
		*open = String(ref.status.String())
		*evidence = ref.Error() + ": \\" + pipe + " is not reachable as " + identity
		return nil, rpcOutcome{exposed: Bool(false), refusal: ref}, nil
	case err != nil:
		*evidence = "TREE_CONNECT to IPC$: " + briefError(err)
		return nil, rpcOutcome{}, err
	}
	p, st, err := s.openPipeFor(ctx, r, identity, tid, pipe)
	if err != nil {
		*evidence = "CREATE of pipe \\" + pipe + ": " + briefError(err)
		return nil, rpcOutcome{}, err
	}
	*open = String(st.String())
	if st != wire.StatusSuccess {
		ref := &ntRefusal{status: st, what: `CREATE of pipe \` + pipe}
		*evidence = ref.Error()
		return nil, rpcOutcome{exposed: Bool(false), refusal: ref}, nil
	}
	c := newRPCClient(p)
	o, err := c.bind(ctx, iface)
	if err != nil {
		c.close()
		*evidence = iface.Spec + " BIND on \\" + pipe + ": " + briefError(err)
		if errors.As(err, &ref) {
			return nil, rpcOutcome{exposed: Bool(false), refusal: ref}, nil
		}
		return nil, rpcOutcome{}, err
	}
	*bind = String(o.describe(0))
	if !o.accepted(0) {
		c.close()
		*evidence = iface.Spec + " BIND on \\" + pipe + " not accepted: " + **bind
		return nil, rpcOutcome{exposed: Bool(false)}, nil
	}
	return c, rpcOutcome{}, nil
}

// rpcCall sends op with the stub req appends and returns the reply stub (reassembled into a
// fresh buffer, at most maxLSAReply bytes).
func rpcCall(ctx context.Context, c *rpcClient, op rpcOp, req interface{ AppendTo([]byte) []byte }) ([]byte, error) {
	var stub [512]byte
	return c.call(ctx, op, req.AppendTo(stub[:0]), make([]byte, 0, 1024), maxLSAReply)
}

// callRefusal words the outcome of a call that did not succeed: an NTSTATUS in the reply, or a
// FAULT. ACCESS_DENIED in either form is a refusal (decided: not exposed); other statuses and
// faults are answers that decide nothing.
func callRefusal(name string, status uint32, fault *dcerpc.FaultError) (*string, rpcOutcome, string) {
	if fault != nil {
		word := "fault " + dcerpc.FaultName(fault.Status)
		out := rpcOutcome{}
		if fault.Status == dcerpc.FaultAccessDenied {
			out = rpcOutcome{exposed: Bool(false), refusal: &ntRefusal{status: wire.StatusAccessDenied, what: name + " (" + word + ")"}}
		}
		return String(word), out, name + " answered " + word
	}
	st := wire.NTStatus(status)
	out := rpcOutcome{}
	if st == wire.StatusAccessDenied {
		out = rpcOutcome{exposed: Bool(false), refusal: &ntRefusal{status: st, what: name}}
	}
	return String(st.String()), out, name + " answered " + st.String()
}

// faultOf returns err's *dcerpc.FaultError, or nil.
func faultOf(err error) *dcerpc.FaultError {
	var f *dcerpc.FaultError
	if errors.As(err, &f) {
		return f
	}
	return nil
}

// stageLSA asks \lsarpc, as each identity holding a session, for the account and primary domain
// (LsarOpenPolicy2, LsarQueryInformationPolicy2 classes 5 and 3), translates the domain's
// Administrator (RID 500) and BUILTIN\Administrators with LsarLookupSids, and with -enum-users
// cycles -rid-range (once per host, as the first identity whose lookups work). LsarClose ends
// it; the pipe is released at the connection's next use.
func stageLSA(ctx context.Context, s *Session, r *Result) error {
	r.LSA = []LSAInfo{}
	enumerated := false
	return s.eachIdentity("LSA", func(id string) (rpcOutcome, error) {
		rec := LSAInfo{Identity: id}
		out, err := s.lsaAs(ctx, r, &rec, !enumerated)
		if rec.Users != nil {
			enumerated = true
		}
		r.LSA = append(r.LSA, rec)
		return out, err
	})
}

// lsaAs runs the LSA calls as identity into rec.
func (s *Session) lsaAs(ctx context.Context, r *Result, rec *LSAInfo, mayEnumerate bool) (rpcOutcome, error) {
	c, out, err := s.openRPC(ctx, r, rec.Identity, "lsarpc", ifLSARPC, &rec.Open, &rec.Bind, &rec.Evidence)
	if c == nil {
		rec.Exposed, rec.SIDTranslation = out.exposed, out.exposed
		return out, err
	}
	defer c.close()
	stub, err := rpcCall(ctx, c, opLsarOpenPolicy2, &dcerpc.LsarOpenPolicy2Request{DesiredAccess: dcerpc.PolicyViewLocalInformation | dcerpc.PolicyLookupNames})
	var h dcerpc.Handle
	var st uint32
	if err == nil {
		if h, st, err = dcerpc.HandleStatusResponse(stub).Decode(); err != nil {
			err = &transport.ProtocolError{Op: "LsarOpenPolicy2 response", Err: err}
		}
	}
	if f := faultOf(err); err != nil && f == nil {
		rec.Evidence = "LsarOpenPolicy2: " + briefError(err)
		return rpcOutcome{}, err
	} else if f != nil || st != dcerpc.StatusSuccess {
		var why string
		rec.OpenPolicy, out, why = callRefusal("LsarOpenPolicy2", st, f)
		rec.Exposed, rec.SIDTranslation, rec.Evidence = out.exposed, out.exposed, why+" as "+rec.Identity
		return out, nil
	}
	rec.OpenPolicy = String(wire.StatusSuccess.String())
	defer s.lsaClose(ctx, c, h)

	account, why, exposedOut, err := lsaDomains(ctx, c, h, rec)
	if err != nil {
		return rpcOutcome{}, err
	}
	why, err = lsaTranslate(ctx, c, h, rec, account, why)
	if err != nil {
		return exposedOut, err
	}
	rec.Evidence = strings.Join(why, "; ")
	if mayEnumerate && s.Opts.EnumUsers && rec.SIDTranslation != nil && *rec.SIDTranslation && account.HasSID {
		rec.Users = s.ridCycle(ctx, c, h, account.SID)
	}
	return exposedOut, nil
}

// lsaDomains queries the account domain (class 5) and the primary domain (class 3) into rec
// and decides rec.Exposed. It returns the account domain, the evidence so far, and the
// stage's outcome; an error that is not a refusal ends the stage (rec.Evidence says it).
func lsaDomains(ctx context.Context, c *rpcClient, h dcerpc.Handle, rec *LSAInfo) (dcerpc.PolicyDomainInfo, []string, rpcOutcome, error) {
	var why []string
	var account dcerpc.PolicyDomainInfo
	exposedOut := rpcOutcome{}
	for _, class := range []uint16{dcerpc.PolicyAccountDomainInformation, dcerpc.PolicyPrimaryDomainInformation} {
		var info dcerpc.PolicyDomainInfo
		req := dcerpc.LsarQueryInformationPolicyRequest{Handle: h, Class: class}
		stub, err := rpcCall(ctx, c, opLsarQueryInformationPolicy2, &req)
		if f := faultOf(err); f != nil && f.Status == dcerpc.FaultOpRangeError {
			// Samba answers opnum 46 with nca_s_op_rng_error; opnum 7 marshals alike.
			stub, err = rpcCall(ctx, c, opLsarQueryInformationPolicy, &req)
		}
		if err == nil {
			if err = dcerpc.LsarQueryInformationPolicyResponse(stub).Decode(&info); err != nil {
				err = &transport.ProtocolError{Op: "LsarQueryInformationPolicy2 response", Err: err}
			}
		}
		f := faultOf(err)
		if err != nil && f == nil {
			rec.Evidence = strings.Join(append(why, "LsarQueryInformationPolicy2 class "+strconv.Itoa(int(class))+": "+briefError(err)), "; ")
			return account, why, rpcOutcome{}, err
		}
		if f != nil || info.Status != dcerpc.StatusSuccess {
			_, o, w := callRefusal("LsarQueryInformationPolicy2 class "+strconv.Itoa(int(class)), info.Status, f)
			why = append(why, w)
			if exposedOut.refusal == nil {
				exposedOut = o
			}
			continue
		}
		name := String(wire.DecodeUTF16LE(info.Name))
		var sid *string
		if info.HasSID {
			sid = String(info.SID.String())
		}
		if class == dcerpc.PolicyAccountDomainInformation {
			account = info
			rec.DomainName, rec.DomainSID = name, sid
			why = append(why, "LsarQueryInformationPolicy2 returned the account domain "+*name+" ("+StringOr(sid, "no SID")+") to "+rec.Identity)
		} else {
			rec.PrimaryDomainName, rec.PrimaryDomainSID = name, sid
			why = append(why, "and the primary domain "+*name+" ("+StringOr(sid, "no SID: a workgroup")+")")
		}
	}
	switch {
	case rec.DomainName != nil && rec.DomainSID != nil:
		rec.Exposed = Bool(true)
		exposedOut = rpcOutcome{exposed: Bool(true)}
	case exposedOut.exposed != nil:
		rec.Exposed = exposedOut.exposed
	}
	return account, why, exposedOut, nil
}

// lsaTranslate asks LsarLookupSids for the domain's Administrator and BUILTIN\Administrators
// and decides rec.SIDTranslation; it returns the evidence with its outcome appended.
func lsaTranslate(ctx context.Context, c *rpcClient, h dcerpc.Handle, rec *LSAInfo, account dcerpc.PolicyDomainInfo, why []string) ([]string, error) {
	sids := make([]dcerpc.SID, 0, 2)
	if account.HasSID {
		if admin, ok := account.SID.WithRID(500); ok {
			sids = append(sids, admin)
		}
	}
	sids = append(sids, wellKnownAdmins)
	mapped, st, f, err := lookupSids(ctx, c, h, sids, nil)
	switch {
	case err != nil && f == nil:
		rec.Evidence = strings.Join(append(why, "LsarLookupSids: "+briefError(err)), "; ")
		return why, err
	case f != nil:
		rec.SIDLookup, _, _ = callRefusal("LsarLookupSids", 0, f)
		if f.Status == dcerpc.FaultAccessDenied {
			rec.SIDTranslation = Bool(false)
		}
		return append(why, "LsarLookupSids answered fault "+dcerpc.FaultName(f.Status)), nil
	}
	rec.SIDLookup = String(wire.NTStatus(st).String())
	switch {
	case mapped > 0:
		rec.SIDTranslation = Bool(true)
		why = append(why, fmt.Sprintf("LsarLookupSids translated %d of %d SIDs (%s) for %s", mapped, len(sids), sidList(sids), rec.Identity))
	case st == dcerpc.StatusNoneMapped || st == dcerpc.StatusAccessDenied:
		rec.SIDTranslation = Bool(false)
		why = append(why, "LsarLookupSids of "+sidList(sids)+" answered "+wire.NTStatus(st).String())
	default:
		why = append(why, "LsarLookupSids of "+sidList(sids)+" answered "+wire.NTStatus(st).String()+" without a name")
	}
	return why, nil
}

// lsaClose closes the policy handle, best effort (the pipe's release ends it anyway).
func (s *Session) lsaClose(ctx context.Context, c *rpcClient, h dcerpc.Handle) {
	_, _ = rpcCall(ctx, c, opLsarClose, &dcerpc.HandleRequest{Handle: h})
}

// lookupSids sends one LsarLookupSids of sids and returns how many names were mapped, the
// status and, when each is wanted (users != nil), calls users with each translated name of type
// user (its index in sids). A FAULT is returned as f with err set.
func lookupSids(ctx context.Context, c *rpcClient, h dcerpc.Handle, sids []dcerpc.SID, users func(i int, name string)) (mapped int, status uint32, f *dcerpc.FaultError, err error) {
	req := dcerpc.LsarLookupSidsRequest{Handle: h, SIDs: sids}
	buf := make([]byte, 0, req.Size())
	stub, err := c.call(ctx, opLsarLookupSids, req.AppendTo(buf), make([]byte, 0, 4096), maxLSAReply)
	if err != nil {
		return 0, 0, faultOf(err), err
	}
	var l dcerpc.LookupSids
	if err := dcerpc.LsarLookupSidsResponse(stub).Decode(&l); err != nil {
		return 0, 0, nil, &transport.ProtocolError{Op: "LsarLookupSids response", Err: err}
	}
	if l.Names > len(sids) {
		return 0, 0, nil, &transport.ProtocolError{Op: "LsarLookupSids response", Err: fmt.Errorf("%d names for %d SIDs: %w", l.Names, len(sids), wire.ErrMalformed)}
	}
	var tn dcerpc.TranslatedName
	for i := 0; l.NextName(&tn); i++ {
		switch tn.Use {
		case dcerpc.SidTypeInvalid, dcerpc.SidTypeUnknown:
			continue
		}
		mapped++
		if users != nil && tn.Use == dcerpc.SidTypeUser {
			users(i, wire.DecodeUTF16LE(tn.Name))
		}
	}
	return mapped, l.Status, nil, nil
}

// ridCycle looks up domain SID + RID for every RID of the -rid-range, ridBatch per call, at most
// MaxRIDCalls calls, and keeps the names of the user accounts.
func (s *Session) ridCycle(ctx context.Context, c *rpcClient, h dcerpc.Handle, domain dcerpc.SID) *UserEnum {
	first, last := s.Opts.RIDFirst, s.Opts.RIDLast
	if first == 0 && last == 0 {
		first, last = DefaultRIDFirst, DefaultRIDLast
	}
	u := &UserEnum{Method: "lsa_rid_cycling", RIDRange: fmt.Sprintf("%d-%d", first, last), Names: []string{}}
	sids := make([]dcerpc.SID, 0, ridBatch)
	next := uint64(first)
	for next <= uint64(last) && u.Calls < MaxRIDCalls {
		sids = sids[:0]
		for ; next <= uint64(last) && len(sids) < ridBatch; next++ {
			sid, ok := domain.WithRID(uint32(next))
			if !ok {
				u.Evidence = "the domain SID has the maximum of sub-authorities: no RID can be appended"
				return u
			}
			sids = append(sids, sid)
		}
		u.Calls++
		_, st, f, err := lookupSids(ctx, c, h, sids, func(_ int, name string) { u.Names = append(u.Names, name) })
		if err != nil {
			what := briefError(err)
			if f != nil {
				what = "fault " + dcerpc.FaultName(f.Status)
			}
			u.Evidence = fmt.Sprintf("LsarLookupSids call %d stopped the cycling: %s", u.Calls, what)
			u.Found = len(u.Names)
			return u
		}
		if st != dcerpc.StatusSuccess && st != dcerpc.StatusSomeNotMapped && st != dcerpc.StatusNoneMapped {
			u.Evidence = fmt.Sprintf("LsarLookupSids call %d answered %s: cycling stopped", u.Calls, wire.NTStatus(st))
			u.Found = len(u.Names)
			return u
		}
	}
	u.Found = len(u.Names)
	u.Complete = next > uint64(last)
	u.Evidence = fmt.Sprintf("%d LsarLookupSids calls over RIDs %s found %d user accounts", u.Calls, u.RIDRange, u.Found)
	return u
}

// sidList renders SIDs for evidence.
func sidList(sids []dcerpc.SID) string {
	parts := make([]string, len(sids))
	for i := range sids {
		parts[i] = sids[i].String()
	}
	return strings.Join(parts, ", ")
}
