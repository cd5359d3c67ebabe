package probes

import (
	"fmt"

	"github.com/smbsweep/smbsweep/wire/dcerpc"
)

// The DCE/RPC allowlist: the only opnums smbsweep sends. Every REQUEST PDU of the probes is
// built by buildRequest, which refuses an (interface, opnum) pair that is not in rpcAllowlist,
// so a method that makes the target connect out (RPRN 65, EFSR 0/4, DFSNM 12/13, FSRVP 8/9,
// EVEN 9, ...) cannot be sent by mistake: the interfaces of the coercion surface are bound, never
// called, and have no entry here. rpc_allowlist_test.go lists the coercing opnums from the
// specifications and fails if any becomes reachable; TestOnlyBuildRequestBuildsRequests fails
// if production code builds a REQUEST PDU any other way.
//
// To allow a call: add its interface below (if new) and one rpcOp line to rpcAllowlist with the
// method's MS-xxx name and section, after checking in the specification that the method takes
// no path, UNC name or host name the server would contact.

// rpcInterface is one DCE/RPC interface: a short name (used in errors and records), the
// specification that defines it and its abstract syntax.
type rpcInterface struct {
	Name   string // "SRVSVC", "RPRN", ...
	Spec   string // "MS-SRVS", "MS-RPRN", ...
	Syntax dcerpc.SyntaxID
}

// The interfaces smbsweep binds to.
var (
	ifSRVSVC     = rpcInterface{Name: "SRVSVC", Spec: "MS-SRVS", Syntax: dcerpc.SRVSVCSyntax}
	ifRPRN       = rpcInterface{Name: "RPRN", Spec: "MS-RPRN", Syntax: dcerpc.RPRNSyntax}
	ifEFSR       = rpcInterface{Name: "EFSR", Spec: "MS-EFSR", Syntax: dcerpc.EFSRSyntax}
	ifEFSRLsarpc = rpcInterface{Name: "EFSR", Spec: "MS-EFSR", Syntax: dcerpc.EFSRLsarpcSyntax}
	ifDFSNM      = rpcInterface{Name: "DFSNM", Spec: "MS-DFSNM", Syntax: dcerpc.DFSNMSyntax}
	ifFSRVP      = rpcInterface{Name: "FSRVP", Spec: "MS-FSRVP", Syntax: dcerpc.FSRVPSyntax}
	ifEVEN       = rpcInterface{Name: "EVEN", Spec: "MS-EVEN", Syntax: dcerpc.EVENSyntax}
	// LSA (MS-LSAD policy calls and MS-LSAT lookups share one interface) and SAMR: called
	// read-only by stages lsa and samr.
	ifLSARPC = rpcInterface{Name: "LSARPC", Spec: "MS-LSAD", Syntax: dcerpc.LSARPCSyntax}
	ifLSAT   = rpcInterface{Name: "LSARPC", Spec: "MS-LSAT", Syntax: dcerpc.LSARPCSyntax} // the lookups of the same interface
	ifSAMR   = rpcInterface{Name: "SAMR", Spec: "MS-SAMR", Syntax: dcerpc.SAMRSyntax}
)

// rpcOp is one permitted call: the interface, the opnum and the method's name and section in
// its specification.
type rpcOp struct {
	Interface rpcInterface
	Opnum     uint16
	Name      string // the method's name in the specification
	Section   string // e.g. "MS-SRVS 3.1.4.8"
}

// rpcAllowlist is every call smbsweep may send. Keep it short: each entry is a method read
// against its specification.
var rpcAllowlist = []rpcOp{
	// Lists the shares; takes the server's own name, contacts nobody.
	opNetrShareEnum,
	// LSA (stage lsa): open the policy, read the account/primary domain, translate SIDs, close.
	// Each takes a policy handle, an information class or SIDs; none a path or host name.
	opLsarClose, opLsarLookupSids, opLsarOpenPolicy2, opLsarQueryInformationPolicy2, opLsarQueryInformationPolicy,
	// SAMR (stage samr): connect, find and open the account domain, read its password and
	// lockout policy, close. Each takes a handle, a class, a domain name or SID; SamrConnect2's
	// ServerName is the server's own name, which it does not contact.
	opSamrCloseHandle, opSamrLookupDomain, opSamrEnumerateDomains, opSamrOpenDomain,
	opSamrQueryInformationDomain2, opSamrConnect2,
}

// The LSA and SAMR calls of stages lsa and samr (all read-only).
var (
	opLsarClose                   = rpcOp{Interface: ifLSARPC, Opnum: dcerpc.OpLsarClose, Name: "LsarClose", Section: "MS-LSAD 3.1.4.9.4"}
	opLsarLookupSids              = rpcOp{Interface: ifLSAT, Opnum: dcerpc.OpLsarLookupSids, Name: "LsarLookupSids", Section: "MS-LSAT 3.1.4.11"}
	opLsarOpenPolicy2             = rpcOp{Interface: ifLSARPC, Opnum: dcerpc.OpLsarOpenPolicy2, Name: "LsarOpenPolicy2", Section: "MS-LSAD 3.1.4.4.1"}
	opLsarQueryInformationPolicy2 = rpcOp{Interface: ifLSARPC, Opnum: dcerpc.OpLsarQueryInformationPolicy2, Name: "LsarQueryInformationPolicy2", Section: "MS-LSAD 3.1.4.4.3"}
	opLsarQueryInformationPolicy  = rpcOp{Interface: ifLSARPC, Opnum: dcerpc.OpLsarQueryInformationPolicy, Name: "LsarQueryInformationPolicy", Section: "MS-LSAD 3.1.4.4.4"}
	opSamrCloseHandle             = rpcOp{Interface: ifSAMR, Opnum: dcerpc.OpSamrCloseHandle, Name: "SamrCloseHandle", Section: "MS-SAMR 3.1.5.13.1"}
	opSamrLookupDomain            = rpcOp{Interface: ifSAMR, Opnum: dcerpc.OpSamrLookupDomainInSamServer, Name: "SamrLookupDomainInSamServer", Section: "MS-SAMR 3.1.5.11.1"}
	opSamrEnumerateDomains        = rpcOp{Interface: ifSAMR, Opnum: dcerpc.OpSamrEnumerateDomainsInSamServer, Name: "SamrEnumerateDomainsInSamServer", Section: "MS-SAMR 3.1.5.2.1"}
	opSamrOpenDomain              = rpcOp{Interface: ifSAMR, Opnum: dcerpc.OpSamrOpenDomain, Name: "SamrOpenDomain", Section: "MS-SAMR 3.1.5.1.5"}
	opSamrQueryInformationDomain2 = rpcOp{Interface: ifSAMR, Opnum: dcerpc.OpSamrQueryInformationDomain2, Name: "SamrQueryInformationDomain2", Section: "MS-SAMR 3.1.5.5.1"}
	opSamrConnect2                = rpcOp{Interface: ifSAMR, Opnum: dcerpc.OpSamrConnect2, Name: "SamrConnect2", Section: "MS-SAMR 3.1.5.1.3"}
)

// opNetrShareEnum lists shares at level 1 (MS-SRVS 3.1.4.8).
var opNetrShareEnum = rpcOp{Interface: ifSRVSVC, Opnum: dcerpc.OpNetrShareEnum, Name: "NetrShareEnum", Section: "MS-SRVS 3.1.4.8"}

// allowed returns the allowlist entry of opnum on the interface with abstract syntax syntax.
func allowed(syntax dcerpc.SyntaxID, opnum uint16) (rpcOp, bool) {
	for _, op := range rpcAllowlist {
		if op.Interface.Syntax == syntax && op.Opnum == opnum {
			return op, true
		}
	}
	return rpcOp{}, false
}

// errOpnumNotAllowed is returned by buildRequest for a call outside rpcAllowlist.
var errOpnumNotAllowed = fmt.Errorf("DCE/RPC call not in the allowlist (probes/rpc_allowlist.go)")

// buildRequest appends to dst a single-fragment REQUEST PDU for opnum of iface on presentation
// context ctxID carrying stub, or refuses with errOpnumNotAllowed when the allowlist does not
// permit the call. It is the only place the probes build a REQUEST.
func buildRequest(dst []byte, iface rpcInterface, opnum uint16, callID uint32, ctxID uint16, stub []byte) ([]byte, error) {
	if _, ok := allowed(iface.Syntax, opnum); !ok {
		return dst, fmt.Errorf("%s (%s) opnum %d: %w", iface.Name, iface.Syntax, opnum, errOpnumNotAllowed)
	}
	if len(stub) > dcerpc.DefaultMaxFrag-dcerpc.RequestHeaderSize {
		// Requests are single fragments within the max_recv_frag every server accepts.
		return dst, fmt.Errorf("%s opnum %d: %d-byte stub exceeds one %d-byte fragment", iface.Name, opnum, len(stub), dcerpc.DefaultMaxFrag)
	}
	req := dcerpc.Request{CallID: callID, ContextID: ctxID, Opnum: opnum, Stub: stub}
	return req.AppendTo(dst), nil
}
