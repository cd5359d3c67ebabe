package probes

import (
	"context"
	"math"
	"strings"

	"github.com/smbsweep/smbsweep/transport"
	"github.com/smbsweep/smbsweep/wire"
	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

// stageSAMR reads the account domain's password and lockout policy over \samr as each identity
// holding a session: SamrConnect2, SamrEnumerateDomainsInSamServer (the first domain that is
// not Builtin), SamrLookupDomainInSamServer, SamrOpenDomain with DOMAIN_READ_PASSWORD_PARAMETERS
// only, SamrQueryInformationDomain2 classes 1 (password) and 12 (lockout), then SamrCloseHandle
// of both handles. Only read access is asked for.
func stageSAMR(ctx context.Context, s *Session, r *Result) error {
	r.SAMR = []SAMRInfo{}
	return s.eachIdentity("SAMR", func(id string) (rpcOutcome, error) {
		rec := SAMRInfo{Identity: id}
		out, err := s.samrAs(ctx, r, &rec)
		r.SAMR = append(r.SAMR, rec)
		return out, err
	})
}

// samrStep runs one SAMR call whose reply is a handle and a status (SamrConnect2,
// SamrOpenDomain). ok is false when the server refused; field and evidence are set then.
func samrHandleCall(ctx context.Context, c *rpcClient, op rpcOp, req interface{ AppendTo([]byte) []byte }, field **string) (h dcerpc.Handle, out rpcOutcome, why string, ok bool, err error) {
	stub, err := rpcCall(ctx, c, op, req)
	var st uint32
	if err == nil {
		if h, st, err = dcerpc.HandleStatusResponse(stub).Decode(); err != nil {
			err = &transport.ProtocolError{Op: op.Name + " response", Err: err}
		}
	}
	f := faultOf(err)
	if err != nil && f == nil {
		return h, rpcOutcome{}, op.Name + ": " + briefError(err), false, err
	}
	if f != nil || st != dcerpc.StatusSuccess {
		*field, out, why = callRefusal(op.Name, st, f)
		return h, out, why, false, nil
	}
	*field = String(wire.StatusSuccess.String())
	return h, rpcOutcome{}, "", true, nil
}

// samrAs runs the SAMR calls as identity into rec.
func (s *Session) samrAs(ctx context.Context, r *Result, rec *SAMRInfo) (rpcOutcome, error) {
	c, out, err := s.openRPC(ctx, r, rec.Identity, "samr", ifSAMR, &rec.Open, &rec.Bind, &rec.Evidence)
	if c == nil {
		rec.Exposed = out.exposed
		return out, err
	}
	defer c.close()
	host := s.Target.Host
	if host == "" {
		host = s.Target.Addr.String()
	}
	server, out, why, ok, err := samrHandleCall(ctx, c, opSamrConnect2, &dcerpc.SamrConnect2Request{ServerName: `\\` + host,
		DesiredAccess: dcerpc.SamServerConnect | dcerpc.SamServerEnumerateDomains | dcerpc.SamServerLookupDomain}, &rec.Connect)
	if !ok {
		rec.Exposed, rec.Evidence = out.exposed, why+" as "+rec.Identity
		return out, err
	}
	defer s.samrClose(ctx, c, server)

	domain, sid, out, ok, err := samrAccountDomain(ctx, c, server, rec)
	if !ok {
		return out, err
	}
	dom, out, why, ok, err := samrHandleCall(ctx, c, opSamrOpenDomain, &dcerpc.SamrOpenDomainRequest{Handle: server,
		DesiredAccess: dcerpc.DomainReadPasswordParameters, DomainID: sid}, &rec.OpenDomain)
	if !ok {
		rec.Exposed, rec.Evidence = out.exposed, why+" for "+domain+" as "+rec.Identity
		return out, err
	}
	defer s.samrClose(ctx, c, dom)
	return samrReadPolicy(ctx, c, dom, domain, rec)
}

// samrAccountDomain finds the account domain, the first the server lists that is not Builtin,
// and its SID. ok is false when the stage ends there (out and err say how; rec has the
// evidence).
func samrAccountDomain(ctx context.Context, c *rpcClient, server dcerpc.Handle, rec *SAMRInfo) (string, dcerpc.SID, rpcOutcome, bool, error) {
	var sid dcerpc.SID
	stub, err := rpcCall(ctx, c, opSamrEnumerateDomains, &dcerpc.SamrEnumerateDomainsRequest{Handle: server, PreferedMaximumLength: 0xffffffff})
	var enum dcerpc.DomainEnum
	if err == nil {
		if err = dcerpc.SamrEnumerateDomainsResponse(stub).Decode(&enum); err != nil {
			err = &transport.ProtocolError{Op: "SamrEnumerateDomainsInSamServer response", Err: err}
		}
	}
	if f := faultOf(err); err != nil && f == nil {
		rec.Evidence = "SamrEnumerateDomainsInSamServer: " + briefError(err)
		return "", sid, rpcOutcome{}, false, err
	} else if f != nil || (enum.Status != dcerpc.StatusSuccess && enum.Status != dcerpc.StatusMoreEntries) {
		_, out, why := callRefusal("SamrEnumerateDomainsInSamServer", enum.Status, f)
		rec.Exposed, rec.Evidence = out.exposed, why+" as "+rec.Identity
		return "", sid, out, false, nil
	}
	var domain string
	for name, more := enum.Next(); more; name, more = enum.Next() {
		if n := wire.DecodeUTF16LE(name); !strings.EqualFold(n, "Builtin") {
			domain = n
			break
		}
	}
	if domain == "" {
		rec.Evidence = "SamrEnumerateDomainsInSamServer listed no domain other than Builtin"
		return "", sid, rpcOutcome{}, false, nil
	}
	rec.DomainName = String(domain)

	stub, err = rpcCall(ctx, c, opSamrLookupDomain, &dcerpc.SamrLookupDomainRequest{Handle: server, Name: domain})
	var hasSID bool
	var st uint32
	if err == nil {
		if hasSID, st, err = dcerpc.SamrLookupDomainResponse(stub).Decode(&sid); err != nil {
			err = &transport.ProtocolError{Op: "SamrLookupDomainInSamServer response", Err: err}
		}
	}
	if f := faultOf(err); err != nil && f == nil {
		rec.Evidence = "SamrLookupDomainInSamServer: " + briefError(err)
		return "", sid, rpcOutcome{}, false, err
	} else if f != nil || st != dcerpc.StatusSuccess || !hasSID {
		_, out, why := callRefusal("SamrLookupDomainInSamServer", st, f)
		rec.Exposed, rec.Evidence = out.exposed, why+" for "+domain+" as "+rec.Identity
		return "", sid, out, false, nil
	}
	rec.DomainSID = String(sid.String())
	return domain, sid, rpcOutcome{}, true, nil
}

// samrReadPolicy reads the password (class 1) and lockout (class 12) policy of the opened
// domain dom into rec; the policy is exposed when either class was read.
func samrReadPolicy(ctx context.Context, c *rpcClient, dom dcerpc.Handle, domain string, rec *SAMRInfo) (rpcOutcome, error) {
	pol := &PasswordPolicy{}
	var whys []string
	var first rpcOutcome
	read := 0
	for _, class := range []uint16{dcerpc.DomainPasswordInformation, dcerpc.DomainLockoutInformation} {
		name := "SamrQueryInformationDomain2 class 1 (password)"
		field := &pol.PasswordInfo
		if class == dcerpc.DomainLockoutInformation {
			name, field = "SamrQueryInformationDomain2 class 12 (lockout)", &pol.LockoutInfo
		}
		var d dcerpc.DomainInfo
		stub, err := rpcCall(ctx, c, opSamrQueryInformationDomain2, &dcerpc.SamrQueryInformationDomainRequest{Handle: dom, Class: class})
		if err == nil {
			if err = dcerpc.SamrQueryInformationDomainResponse(stub).Decode(&d); err != nil {
				err = &transport.ProtocolError{Op: "SamrQueryInformationDomain2 response", Err: err}
			}
		}
		f := faultOf(err)
		if err != nil && f == nil {
			rec.Evidence = strings.Join(append(whys, name+": "+briefError(err)), "; ")
			return rpcOutcome{}, err
		}
		if f != nil || d.Status != dcerpc.StatusSuccess || d.Class != class {
			var o rpcOutcome
			var w string
			*field, o, w = callRefusal(name, d.Status, f)
			whys = append(whys, w)
			if first.refusal == nil {
				first = o
			}
			continue
		}
		*field = String(wire.StatusSuccess.String())
		read++
		setPolicy(pol, class, &d)
		whys = append(whys, name+" read as "+rec.Identity)
	}
	rec.PasswordPolicy = pol
	rec.Evidence = "domain " + domain + " (" + *rec.DomainSID + "): " + strings.Join(whys, "; ")
	if read > 0 {
		rec.Exposed = Bool(true)
		return rpcOutcome{exposed: Bool(true)}, nil
	}
	rec.PasswordPolicy = nil
	rec.Exposed = first.exposed
	return first, nil
}

// setPolicy fills pol from one class of DOMAIN_INFORMATION.
func setPolicy(pol *PasswordPolicy, class uint16, d *dcerpc.DomainInfo) {
	if class == dcerpc.DomainPasswordInformation {
		pol.MinPasswordLength, pol.PasswordHistoryLength = intPtr(int(d.MinPasswordLength)), intPtr(int(d.PasswordHistoryLength))
		pol.MaxPasswordAgeSeconds, pol.MinPasswordAgeSeconds = relSeconds(d.MaxPasswordAge), relSeconds(d.MinPasswordAge)
		pol.PasswordProperties = dcerpc.PasswordPropertyNames(d.PasswordProperties)
		return
	}
	pol.LockoutThreshold = intPtr(int(d.LockoutThreshold))
	pol.LockoutDurationSeconds, pol.LockoutWindowSeconds = relSeconds(d.LockoutDuration), relSeconds(d.LockoutObservationWindow)
}

// samrClose closes a SAMR handle, best effort.
func (s *Session) samrClose(ctx context.Context, c *rpcClient, h dcerpc.Handle) {
	_, _ = rpcCall(ctx, c, opSamrCloseHandle, &dcerpc.HandleRequest{Handle: h})
}

func intPtr(v int) *int { return &v }

// relSeconds converts a SAMR relative time (a negative count of 100 ns; MS-SAMR 2.2.2.2) to
// seconds; "never" (math.MinInt64) is nil. A positive value is taken as its magnitude.
func relSeconds(v int64) *int64 {
	if v == math.MinInt64 {
		return nil
	}
	if v < 0 {
		v = -v
	}
	sec := v / 10_000_000
	return &sec
}
