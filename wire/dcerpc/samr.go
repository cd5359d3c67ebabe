package dcerpc

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// The SAMR calls smbsweep makes on \PIPE\samr, all read-only: SamrConnect2 (MS-SAMR
// 3.1.5.1.3), SamrEnumerateDomainsInSamServer (3.1.5.2.1), SamrLookupDomainInSamServer
// (3.1.5.11.1), SamrOpenDomain (3.1.5.1.5), SamrQueryInformationDomain2 (3.1.5.5.1) at the
// password (1) and lockout (12) classes, and SamrCloseHandle (3.1.5.13.1).

// SAMRSyntax is the Security Account Manager Remote Protocol on \PIPE\samr:
// 12345778-1234-abcd-ef00-0123456789ac version 1.0 (MS-SAMR 1.9).
var SAMRSyntax = SyntaxID{UUID: mustUUID("12345778-1234-abcd-ef00-0123456789ac"), Major: 1}

// SAMR opnums, access rights and information classes.
const (
	OpSamrCloseHandle                  uint16 = 1
	OpSamrLookupDomainInSamServer      uint16 = 5
	OpSamrEnumerateDomainsInSamServer  uint16 = 6
	OpSamrOpenDomain                   uint16 = 7
	OpSamrQueryInformationDomain2      uint16 = 46
	OpSamrConnect2                     uint16 = 57
	SamServerConnect                   uint32 = 0x00000001 // SAM_SERVER_CONNECT (MS-SAMR 2.2.1.3)
	SamServerEnumerateDomains          uint32 = 0x00000010
	SamServerLookupDomain              uint32 = 0x00000020
	DomainReadPasswordParameters       uint32 = 0x00000001 // DOMAIN_READ_PASSWORD_PARAMETERS (MS-SAMR 2.2.1.4)
	DomainPasswordInformation          uint16 = 1          // DOMAIN_INFORMATION_CLASS (MS-SAMR 2.2.3.16)
	DomainLockoutInformation           uint16 = 12
	MaxSAMDomains                             = 64
	samrEnumerateDomainsStubSize              = HandleSize + 8
	samrQueryInformationDomainStubSize        = HandleSize + 2
)

// SamrConnect2Request is the stub of SamrConnect2: ServerName (a [unique, string] wchar_t*;
// "" sends NULL) and DesiredAccess.
type SamrConnect2Request struct {
	ServerName    string
	DesiredAccess uint32
}

// Size returns the encoded size.
func (r *SamrConnect2Request) Size() int { return serverNameSize(r.ServerName) + 4 }

// AppendTo appends the stub; alignment is counted from len(dst).
func (r *SamrConnect2Request) AppendTo(dst []byte) []byte {
	dst = appendServerName(dst, r.ServerName, len(dst))
	return binary.LittleEndian.AppendUint32(dst, r.DesiredAccess)
}

// SamrEnumerateDomainsRequest is the stub of SamrEnumerateDomainsInSamServer: the server
// handle, EnumerationContext and PreferedMaximumLength.
type SamrEnumerateDomainsRequest struct {
	Handle                Handle
	EnumerationContext    uint32
	PreferedMaximumLength uint32
}

// Size returns the encoded size.
func (r *SamrEnumerateDomainsRequest) Size() int { return samrEnumerateDomainsStubSize }

// AppendTo appends the stub.
func (r *SamrEnumerateDomainsRequest) AppendTo(dst []byte) []byte {
	dst = appendHandle(dst, &r.Handle)
	dst = binary.LittleEndian.AppendUint32(dst, r.EnumerationContext)
	return binary.LittleEndian.AppendUint32(dst, r.PreferedMaximumLength)
}

// DomainEnum holds a decoded SamrEnumerateDomainsInSamServer reply and iterates the domain
// names (UTF-16LE views into the stub it was decoded from).
type DomainEnum struct {
	EnumerationContext uint32
	Count              int // entries in the buffer
	CountReturned      uint32
	Status             uint32

	stub  []byte
	array int         // offset of the first SAMPR_RID_ENUMERATION
	names entryCursor // over the array and its deferred names
}

// SamrEnumerateDomainsResponse is the stub of the reply: EnumerationContext, a unique pointer
// to SAMPR_ENUMERATION_BUFFER {EntriesRead, Buffer -> SAMPR_RID_ENUMERATION[]}, CountReturned
// and the NTSTATUS.
type SamrEnumerateDomainsResponse []byte

// Decode validates the stub (at most MaxSAMDomains entries) and fills e, ready for Next.
func (r SamrEnumerateDomainsResponse) Decode(e *DomainEnum) error {
	const what = "SamrEnumerateDomainsInSamServer response"
	*e = DomainEnum{stub: r}
	rd := ndrReader{b: r}
	var err error
	if e.EnumerationContext, err = rd.u32(what + ": EnumerationContext"); err != nil {
		return err
	}
	ptr, err := rd.u32(what + ": Buffer pointer")
	if err != nil {
		return err
	}
	if ptr != 0 {
		n, err := rd.u32(what + ": EntriesRead")
		if err != nil {
			return err
		}
		if n > MaxSAMDomains {
			return fmt.Errorf("%s: EntriesRead %d > %d: %w", what, n, MaxSAMDomains, wire.ErrTooLarge)
		}
		arr, err := rd.u32(what + ": Buffer.Buffer pointer")
		if err != nil {
			return err
		}
		if err := conformantArray(&rd, what+": domains", n, arr, ridEnumerationSize, &e.array); err != nil {
			return err
		}
		e.Count = int(n)
		e.names.count, e.names.first = e.Count, rd.off
		for i := range e.Count {
			if _, err := e.entry(&rd, i); err != nil {
				return fmt.Errorf("%s: domain %d: %w", what, i, err)
			}
		}
	}
	if e.CountReturned, err = rd.u32(what + ": CountReturned"); err != nil {
		return err
	}
	if e.Status, err = rd.u32(what + ": return value"); err != nil {
		return err
	}
	e.names.reset()
	return rd.end(what)
}

func (e *DomainEnum) entry(rd *ndrReader, i int) ([]byte, error) {
	fx := ndrReader{b: e.stub, off: e.array + i*ridEnumerationSize + 4} // after RelativeId
	h, err := fx.ustrHeader("Name")
	if err != nil {
		return nil, err
	}
	return rd.ustrBody("Name", h, maxDomainNameChars)
}

// Next returns the next domain name (UTF-16LE) and whether there was one.
func (e *DomainEnum) Next() ([]byte, bool) {
	var name []byte
	if !e.names.advance(e.stub, func(rd *ndrReader, i int) (err error) {
		name, err = e.entry(rd, i)
		return err
	}) {
		return nil, false
	}
	return name, true
}

// SamrLookupDomainRequest is the stub of SamrLookupDomainInSamServer: the server handle and
// the domain name as an RPC_UNICODE_STRING (at most MaxStringChars-1 code units).
type SamrLookupDomainRequest struct {
	Handle Handle
	Name   string
}

func (r *SamrLookupDomainRequest) units() int { return utf16Units(r.Name, MaxStringChars-1) }

// Size returns the encoded size.
func (r *SamrLookupDomainRequest) Size() int { return HandleSize + 8 + 12 + (2*r.units()+3)&^3 }

// AppendTo appends the stub; alignment is counted from len(dst).
func (r *SamrLookupDomainRequest) AppendTo(dst []byte) []byte {
	start := len(dst)
	units := r.units()
	dst = appendHandle(dst, &r.Handle)
	dst = appendUStringHeader(dst, units, refServerName)
	return appendUStringBody(dst, r.Name, units, start)
}

// SamrLookupDomainResponse is the stub of the reply: a unique pointer to the domain's RPC_SID,
// then the NTSTATUS.
type SamrLookupDomainResponse []byte

// Decode returns the SID (hasSID false for a NULL pointer) and the status.
func (r SamrLookupDomainResponse) Decode(s *SID) (hasSID bool, status uint32, err error) {
	const what = "SamrLookupDomainInSamServer response"
	rd := ndrReader{b: r}
	ptr, err := rd.u32(what + ": DomainId pointer")
	if err != nil {
		return false, 0, err
	}
	if hasSID, err = rd.ptrSID(what+": DomainId", ptr, s); err != nil {
		return false, 0, err
	}
	if status, err = rd.u32(what + ": return value"); err != nil {
		return false, 0, err
	}
	return hasSID, status, rd.end(what)
}

// SamrOpenDomainRequest is the stub of SamrOpenDomain: the server handle, DesiredAccess and
// the domain SID.
type SamrOpenDomainRequest struct {
	Handle        Handle
	DesiredAccess uint32
	DomainID      SID
}

// Size returns the encoded size.
func (r *SamrOpenDomainRequest) Size() int { return HandleSize + 4 + r.DomainID.ndrSize() }

// AppendTo appends the stub.
func (r *SamrOpenDomainRequest) AppendTo(dst []byte) []byte {
	dst = appendHandle(dst, &r.Handle)
	dst = binary.LittleEndian.AppendUint32(dst, r.DesiredAccess)
	return r.DomainID.appendNDR(dst)
}

// SamrQueryInformationDomainRequest is the stub of SamrQueryInformationDomain2 (opnum 46; and
// SamrQueryInformationDomain, opnum 8, which marshals alike): the domain handle and the class.
type SamrQueryInformationDomainRequest struct {
	Handle Handle
	Class  uint16
}

// Size returns the encoded size.
func (r *SamrQueryInformationDomainRequest) Size() int { return samrQueryInformationDomainStubSize }

// AppendTo appends the stub.
func (r *SamrQueryInformationDomainRequest) AppendTo(dst []byte) []byte {
	dst = appendHandle(dst, &r.Handle)
	return binary.LittleEndian.AppendUint16(dst, r.Class)
}

// DomainInfo is a decoded DOMAIN_PASSWORD_INFORMATION (class 1, MS-SAMR 2.2.3.5) or
// DOMAIN_LOCKOUT_INFORMATION (class 12, 2.2.3.15). Times are the raw relative values: negative
// counts of 100 ns (or math.MinInt64 for "never").
type DomainInfo struct {
	Class  uint16
	Status uint32 // the call's NTSTATUS; the rest is set only when the information came

	MinPasswordLength     uint16
	PasswordHistoryLength uint16
	PasswordProperties    uint32
	MaxPasswordAge        int64
	MinPasswordAge        int64

	LockoutDuration          int64
	LockoutObservationWindow int64
	LockoutThreshold         uint16
}

// SamrQueryInformationDomainResponse is the stub of the reply: a unique pointer to the
// SAMPR_DOMAIN_INFO_BUFFER union (switch, then the arm), then the NTSTATUS. Only classes 1
// and 12 are decoded.
type SamrQueryInformationDomainResponse []byte

// Decode validates the stub and fills d. It does not allocate (except for the error).
func (r SamrQueryInformationDomainResponse) Decode(d *DomainInfo) error {
	const what = "SamrQueryInformationDomain response"
	*d = DomainInfo{}
	rd := ndrReader{b: r}
	ptr, err := rd.u32(what + ": Buffer pointer")
	if err != nil {
		return err
	}
	if ptr != 0 {
		if d.Class, err = rd.u16(what + ": union switch"); err != nil {
			return err
		}
		switch d.Class {
		case DomainPasswordInformation:
			rd.off = (rd.off + 3) &^ 3 // the arm is a structure aligned to 4
			if d.MinPasswordLength, err = rd.u16(what + ": MinPasswordLength"); err != nil {
				return err
			}
			if d.PasswordHistoryLength, err = rd.u16(what + ": PasswordHistoryLength"); err != nil {
				return err
			}
			if d.PasswordProperties, err = rd.u32(what + ": PasswordProperties"); err != nil {
				return err
			}
			if d.MaxPasswordAge, err = rd.oldLargeInteger(what + ": MaxPasswordAge"); err != nil {
				return err
			}
			if d.MinPasswordAge, err = rd.oldLargeInteger(what + ": MinPasswordAge"); err != nil {
				return err
			}
		case DomainLockoutInformation:
			if d.LockoutDuration, err = rd.i64(what + ": LockoutDuration"); err != nil {
				return err
			}
			if d.LockoutObservationWindow, err = rd.i64(what + ": LockoutObservationWindow"); err != nil {
				return err
			}
			if d.LockoutThreshold, err = rd.u16(what + ": LockoutThreshold"); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: information class %d (only 1 and 12 are decoded): %w", what, d.Class, wire.ErrMalformed)
		}
	}
	if d.Status, err = rd.u32(what + ": return value"); err != nil {
		return err
	}
	if ptr == 0 && d.Status == StatusSuccess {
		return fmt.Errorf("%s: NULL information with STATUS_SUCCESS: %w", what, wire.ErrMalformed)
	}
	return rd.end(what)
}

// Password properties (DOMAIN_PASSWORD_INFORMATION.PasswordProperties, MS-SAMR 2.2.1.7).
var passwordPropertyNames = []struct {
	bit  uint32
	name string
}{
	{0x01, "DOMAIN_PASSWORD_COMPLEX"},
	{0x02, "DOMAIN_PASSWORD_NO_ANON_CHANGE"},
	{0x04, "DOMAIN_PASSWORD_NO_CLEAR_CHANGE"},
	{0x08, "DOMAIN_LOCKOUT_ADMINS"},
	{0x10, "DOMAIN_PASSWORD_STORE_CLEARTEXT"},
	{0x20, "DOMAIN_REFUSE_PASSWORD_CHANGE"},
}

// PasswordPropertyNames names the bits set in p (unknown bits as 0xXXXXXXXX).
func PasswordPropertyNames(p uint32) []string {
	names := []string{}
	for _, pn := range passwordPropertyNames {
		if p&pn.bit != 0 {
			names = append(names, pn.name)
			p &^= pn.bit
		}
	}
	if p != 0 {
		names = append(names, fmt.Sprintf("0x%08x", p))
	}
	return names
}
