package dcerpc

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// The LSA calls smbsweep makes on \PIPE\lsarpc, all read-only: LsarOpenPolicy2 (MS-LSAD
// 3.1.4.4.1), LsarQueryInformationPolicy2 (MS-LSAD 3.1.4.4.3) for the account and primary
// domain, LsarLookupSids (MS-LSAT 3.1.4.11) and LsarClose (MS-LSAD 3.1.4.9.4).

// LSARPCSyntax is the LSA interface (MS-LSAD and MS-LSAT share it) on \PIPE\lsarpc:
// 12345778-1234-abcd-ef00-0123456789ab version 0.0 (MS-LSAD 1.9, MS-LSAT 1.9).
var LSARPCSyntax = SyntaxID{UUID: mustUUID("12345778-1234-abcd-ef00-0123456789ab")}

// LSA opnums.
const (
	OpLsarClose                    uint16 = 0
	OpLsarQueryInformationPolicy   uint16 = 7
	OpLsarLookupSids               uint16 = 15
	OpLsarOpenPolicy2              uint16 = 44
	OpLsarQueryInformationPolicy2  uint16 = 46
	PolicyViewLocalInformation     uint32 = 0x00000001 // POLICY_VIEW_LOCAL_INFORMATION (MS-LSAD 2.2.1.1.2)
	PolicyLookupNames              uint32 = 0x00000800 // POLICY_LOOKUP_NAMES
	PolicyPrimaryDomainInformation uint16 = 3          // POLICY_INFORMATION_CLASS (MS-LSAD 2.2.4.1)
	PolicyAccountDomainInformation uint16 = 5
	LsapLookupWksta                uint16 = 1 // LSAP_LOOKUP_LEVEL (MS-LSAT 2.2.16)
	MaxLookupSids                         = 1000
	MaxReferencedDomains                  = 256
	lsaObjectAttributesLength      uint32 = 24
	refSidInfo                     uint32 = 0x00020000
	refSidPointers                 uint32 = 0x00020004 // + 4*i for the i-th SID
	maxDomainNameChars             uint32 = 1024
	maxAccountNameChars            uint32 = 1024
	translatedNameSize                    = 16 // Use, pad, RPC_UNICODE_STRING, DomainIndex
	trustInformationSize                  = 12 // RPC_UNICODE_STRING, Sid pointer
	ridEnumerationSize                    = 12 // RelativeId, RPC_UNICODE_STRING
	lsaOpenPolicy2StubSize                = 4 + 24 + 4
	lsaQueryInformationPolicyStub         = HandleSize + 2
	lsaLookupSidsFixedAfterSIDs           = 4 + 4 + 2 + 2 + 4 // TranslatedNames, LookupLevel, pad, MappedCount
	lsaLookupSidsFixedBeforeSIDs          = HandleSize + 4 + 4
	lsaLookupSidsPerSIDPointer            = 4
	lsaLookupSidsArrayConformance         = 4
)

// SID_NAME_USE values (MS-LSAT 2.2.13).
const (
	SidTypeUser           uint16 = 1
	SidTypeGroup          uint16 = 2
	SidTypeDomain         uint16 = 3
	SidTypeAlias          uint16 = 4
	SidTypeWellKnownGroup uint16 = 5
	SidTypeDeletedAccount uint16 = 6
	SidTypeInvalid        uint16 = 7
	SidTypeUnknown        uint16 = 8
	SidTypeComputer       uint16 = 9
	SidTypeLabel          uint16 = 10
)

var sidTypeNames = [...]string{"", "user", "group", "domain", "alias", "well_known_group", "deleted_account", "invalid", "unknown", "computer", "label"}

// SidTypeName names a SID_NAME_USE ("user", "group", ...), or its number when unknown.
func SidTypeName(u uint16) string {
	if int(u) < len(sidTypeNames) && u != 0 {
		return sidTypeNames[u]
	}
	return fmt.Sprintf("sid_type_%d", u)
}

// LsarOpenPolicy2Request is the stub of LsarOpenPolicy2 (MS-LSAD 3.1.4.4.1): SystemName NULL
// (the server itself), an LSAPR_OBJECT_ATTRIBUTES of Length 24 with every pointer NULL (as
// MS-LSAD 3.1.4.4.1 says the server ignores them) and DesiredAccess.
type LsarOpenPolicy2Request struct {
	DesiredAccess uint32
}

// Size returns the encoded size.
func (r *LsarOpenPolicy2Request) Size() int { return lsaOpenPolicy2StubSize }

// AppendTo appends the stub.
func (r *LsarOpenPolicy2Request) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, 0) // SystemName: NULL
	dst = le.AppendUint32(dst, lsaObjectAttributesLength)
	for range 5 { // RootDirectory, ObjectName, Attributes, SecurityDescriptor, SecurityQualityOfService
		dst = le.AppendUint32(dst, 0)
	}
	return le.AppendUint32(dst, r.DesiredAccess)
}

// LsarQueryInformationPolicyRequest is the stub of LsarQueryInformationPolicy2 (opnum 46) and
// LsarQueryInformationPolicy (opnum 7), which marshal alike: the policy handle and the
// information class.
type LsarQueryInformationPolicyRequest struct {
	Handle Handle
	Class  uint16
}

// Size returns the encoded size.
func (r *LsarQueryInformationPolicyRequest) Size() int { return lsaQueryInformationPolicyStub }

// AppendTo appends the stub.
func (r *LsarQueryInformationPolicyRequest) AppendTo(dst []byte) []byte {
	dst = appendHandle(dst, &r.Handle)
	return binary.LittleEndian.AppendUint16(dst, r.Class)
}

// PolicyDomainInfo is a decoded LSAPR_POLICY_PRIMARY_DOM_INFO or
// LSAPR_POLICY_ACCOUNT_DOM_INFO (MS-LSAD 2.2.4.5, 2.2.4.6): the domain's name and SID. Name is
// UTF-16LE, a view into the stub (nil when the Buffer was NULL).
type PolicyDomainInfo struct {
	Class  uint16
	Name   []byte
	HasSID bool // false when the Sid pointer was NULL (a workgroup member's primary domain)
	SID    SID
	Status uint32 // the call's NTSTATUS; the rest is set only when it is 0
}

// LsarQueryInformationPolicyResponse is the stub of the reply: a unique pointer to the
// LSAPR_POLICY_INFORMATION union (switch, then the arm), then the NTSTATUS. Only the primary
// (3) and account (5) domain classes are decoded.
type LsarQueryInformationPolicyResponse []byte

// Decode validates the stub and fills info. It does not allocate (except for the error).
func (r LsarQueryInformationPolicyResponse) Decode(info *PolicyDomainInfo) error {
	const what = "LsarQueryInformationPolicy response"
	*info = PolicyDomainInfo{}
	rd := ndrReader{b: r}
	ptr, err := rd.u32(what + ": PolicyInformation pointer")
	if err != nil {
		return err
	}
	if ptr != 0 {
		class, err := rd.u16(what + ": union switch")
		if err != nil {
			return err
		}
		if class != PolicyPrimaryDomainInformation && class != PolicyAccountDomainInformation {
			return fmt.Errorf("%s: information class %d (only 3 and 5 are decoded): %w", what, class, wire.ErrMalformed)
		}
		info.Class = class
		rd.off = (rd.off + 3) &^ 3 // the arm is a structure aligned to 4
		h, err := rd.ustrHeader(what + ": Name")
		if err != nil {
			return err
		}
		sidPtr, err := rd.u32(what + ": Sid pointer")
		if err != nil {
			return err
		}
		if info.Name, err = rd.ustrBody(what+": Name", h, maxDomainNameChars); err != nil {
			return err
		}
		if info.HasSID, err = rd.ptrSID(what+": Sid", sidPtr, &info.SID); err != nil {
			return err
		}
	}
	if info.Status, err = rd.u32(what + ": return value"); err != nil {
		return err
	}
	if ptr == 0 && info.Status == StatusSuccess {
		return fmt.Errorf("%s: NULL information with STATUS_SUCCESS: %w", what, wire.ErrMalformed)
	}
	return rd.end(what)
}

// LsarLookupSidsRequest is the stub of LsarLookupSids (MS-LSAT 3.1.4.11): the policy handle,
// an LSAPR_SID_ENUM_BUFFER of the SIDs, an empty LSAPR_TRANSLATED_NAMES, the lookup level and
// MappedCount 0. At most MaxLookupSids SIDs are sent (the rest are left out).
type LsarLookupSidsRequest struct {
	Handle Handle
	SIDs   []SID
	Level  uint16 // 0 sends LsapLookupWksta
}

func (r *LsarLookupSidsRequest) sids() []SID { return r.SIDs[:min(len(r.SIDs), MaxLookupSids)] }

// Size returns the encoded size.
func (r *LsarLookupSidsRequest) Size() int {
	n := lsaLookupSidsFixedBeforeSIDs + lsaLookupSidsFixedAfterSIDs
	if s := r.sids(); len(s) > 0 {
		n += lsaLookupSidsArrayConformance + lsaLookupSidsPerSIDPointer*len(s)
		for i := range s {
			n += s[i].ndrSize()
		}
	}
	return n
}

// AppendTo appends the stub. Alignment is counted from len(dst), where the stub starts.
func (r *LsarLookupSidsRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	start := len(dst)
	s := r.sids()
	dst = appendHandle(dst, &r.Handle)
	dst = le.AppendUint32(dst, uint32(len(s))) // SidEnumBuffer.Entries
	if len(s) == 0 {
		dst = le.AppendUint32(dst, 0)
	} else {
		dst = le.AppendUint32(dst, refSidInfo)
		dst = le.AppendUint32(dst, uint32(len(s))) // conformance of SidInfo[]
		for i := range s {
			dst = le.AppendUint32(dst, refSidPointers+4*uint32(i))
		}
		for i := range s {
			dst = s[i].appendNDR(dst)
		}
	}
	dst = le.AppendUint32(dst, 0) // TranslatedNames.Entries
	dst = le.AppendUint32(dst, 0) // TranslatedNames.Names: NULL
	level := r.Level
	if level == 0 {
		level = LsapLookupWksta
	}
	dst = le.AppendUint16(dst, level)
	dst = pad4(dst, start)
	return le.AppendUint32(dst, 0) // MappedCount
}

// TranslatedName is one LSAPR_TRANSLATED_NAME (MS-LSAT 2.2.19). Name is UTF-16LE, a view.
type TranslatedName struct {
	Use         uint16 // SID_NAME_USE
	Name        []byte
	DomainIndex int32 // index into the referenced domains, -1 for none
}

// TrustInformation is one LSAPR_TRUST_INFORMATION of the referenced domain list (MS-LSAT
// 2.2.11). Name is UTF-16LE, a view.
type TrustInformation struct {
	Name   []byte
	HasSID bool
	SID    SID
}

// LookupSids holds a decoded LsarLookupSids reply and iterates its domains and names. It
// references the stub it was decoded from.
type LookupSids struct {
	Domains     int // referenced domains
	Names       int // translated names
	MappedCount uint32
	Status      uint32 // STATUS_SUCCESS, STATUS_SOME_NOT_MAPPED, STATUS_NONE_MAPPED, ...

	stub      []byte
	domArray  int         // offset of the first LSAPR_TRUST_INFORMATION
	nameArray int         // offset of the first LSAPR_TRANSLATED_NAME
	doms      entryCursor // over the domains and their deferred names and SIDs
	names     entryCursor // over the names and their deferred characters
}

// LsarLookupSidsResponse is the stub of the reply: ReferencedDomains (a unique pointer to
// LSAPR_REFERENCED_DOMAIN_LIST), TranslatedNames, MappedCount and the NTSTATUS.
type LsarLookupSidsResponse []byte

// Decode validates the whole stub (every count capped: MaxReferencedDomains domains,
// MaxLookupSids names) and fills l, ready for NextDomain and NextName. It does not allocate
// (except for the error).
func (r LsarLookupSidsResponse) Decode(l *LookupSids) error {
	const what = lookupSidsWhat
	*l = LookupSids{stub: r}
	rd := ndrReader{b: r}
	ptr, err := rd.u32(what + ": ReferencedDomains pointer")
	if err != nil {
		return err
	}
	if ptr != 0 {
		if err := l.decodeDomains(&rd); err != nil {
			return err
		}
	}
	if err := l.decodeNames(&rd); err != nil {
		return err
	}
	if l.MappedCount, err = rd.u32(what + ": MappedCount"); err != nil {
		return err
	}
	if l.Status, err = rd.u32(what + ": return value"); err != nil {
		return err
	}
	l.Reset()
	return rd.end(what)
}

// lookupSidsWhat names the LsarLookupSids reply in its decoding errors.
const lookupSidsWhat = "LsarLookupSids response"

// decodeDomains reads the LSAPR_REFERENCED_DOMAIN_LIST a non-NULL ReferencedDomains points to:
// the count (at most MaxReferencedDomains), the array and every domain's deferred name and SID.
func (l *LookupSids) decodeDomains(rd *ndrReader) error {
	const what = lookupSidsWhat
	n, err := rd.u32(what + ": ReferencedDomains.Entries")
	if err != nil {
		return err
	}
	if n > MaxReferencedDomains {
		return fmt.Errorf("%s: %d referenced domains > %d: %w", what, n, MaxReferencedDomains, wire.ErrTooLarge)
	}
	arr, err := rd.u32(what + ": ReferencedDomains.Domains pointer")
	if err != nil {
		return err
	}
	if _, err := rd.u32(what + ": ReferencedDomains.MaxEntries"); err != nil {
		return err
	}
	if err := conformantArray(rd, what+": Domains", n, arr, trustInformationSize, &l.domArray); err != nil {
		return err
	}
	l.Domains = int(n)
	l.doms.count, l.doms.first = l.Domains, rd.off
	var ti TrustInformation
	for i := range l.Domains {
		if err := l.domain(rd, i, &ti); err != nil {
			return fmt.Errorf("%s: domain %d: %w", what, i, err)
		}
	}
	return nil
}

// decodeNames reads TranslatedNames: the count (at most MaxLookupSids), the array and every
// name's deferred characters, each name's DomainIndex within the referenced domains.
func (l *LookupSids) decodeNames(rd *ndrReader) error {
	const what = lookupSidsWhat
	n, err := rd.u32(what + ": TranslatedNames.Entries")
	if err != nil {
		return err
	}
	if n > MaxLookupSids {
		return fmt.Errorf("%s: %d translated names > %d: %w", what, n, MaxLookupSids, wire.ErrTooLarge)
	}
	arr, err := rd.u32(what + ": TranslatedNames.Names pointer")
	if err != nil {
		return err
	}
	if err := conformantArray(rd, what+": Names", n, arr, translatedNameSize, &l.nameArray); err != nil {
		return err
	}
	l.Names = int(n)
	l.names.count, l.names.first = l.Names, rd.off
	var tn TranslatedName
	for i := range l.Names {
		if err := l.name(rd, i, &tn); err != nil {
			return fmt.Errorf("%s: name %d: %w", what, i, err)
		}
		if tn.DomainIndex >= int32(l.Domains) || tn.DomainIndex < -1 {
			return fmt.Errorf("%s: name %d: DomainIndex %d of %d domains: %w", what, i, tn.DomainIndex, l.Domains, wire.ErrMalformed)
		}
	}
	return nil
}

// conformantArray reads the pointer arr to a conformant array of n fixed elements of size
// bytes: NULL only when n is 0, the conformance equal to n, and the elements within the stub.
// It leaves rd after the fixed elements and sets *at to the first one.
func conformantArray(rd *ndrReader, what string, n, arr uint32, size int, at *int) error {
	if arr == 0 {
		if n != 0 {
			return fmt.Errorf("%s: %d entries with a NULL array: %w", what, n, wire.ErrMalformed)
		}
		return nil
	}
	conf, err := rd.u32(what)
	if err != nil {
		return err
	}
	if conf != n {
		return fmt.Errorf("%s: conformance %d for %d entries: %w", what, conf, n, wire.ErrMalformed)
	}
	*at = rd.off
	if end := rd.off + int(n)*size; end > len(rd.b) {
		return fmt.Errorf("%s: %d entries at %d: stub of %d bytes: %w", what, n, rd.off, len(rd.b), wire.ErrShort)
	}
	rd.off += int(n) * size
	return nil
}

// domain reads domain i: its fixed part from the array and its deferred name and SID from rd.
func (l *LookupSids) domain(rd *ndrReader, i int, ti *TrustInformation) error {
	fx := ndrReader{b: l.stub, off: l.domArray + i*trustInformationSize}
	h, err := fx.ustrHeader("Name")
	if err != nil {
		return err
	}
	sidPtr, err := fx.u32("Sid pointer")
	if err != nil {
		return err
	}
	if ti.Name, err = rd.ustrBody("Name", h, maxDomainNameChars); err != nil {
		return err
	}
	ti.HasSID, err = rd.ptrSID("Sid", sidPtr, &ti.SID)
	return err
}

// name reads name i: its fixed part from the array and its deferred characters from rd.
func (l *LookupSids) name(rd *ndrReader, i int, tn *TranslatedName) error {
	fx := ndrReader{b: l.stub, off: l.nameArray + i*translatedNameSize}
	use, err := fx.u16("Use")
	if err != nil {
		return err
	}
	h, err := fx.ustrHeader("Name")
	if err != nil {
		return err
	}
	idx, err := fx.u32("DomainIndex")
	if err != nil {
		return err
	}
	tn.Use, tn.DomainIndex = use, int32(idx)
	tn.Name, err = rd.ustrBody("Name", h, maxAccountNameChars)
	return err
}

// NextDomain fills ti with the next referenced domain and reports whether there was one.
func (l *LookupSids) NextDomain(ti *TrustInformation) bool {
	return l.doms.advance(l.stub, func(rd *ndrReader, i int) error { return l.domain(rd, i, ti) })
}

// NextName fills tn with the next translated name (in the order of the SIDs asked) and reports
// whether there was one.
func (l *LookupSids) NextName(tn *TranslatedName) bool {
	return l.names.advance(l.stub, func(rd *ndrReader, i int) error { return l.name(rd, i, tn) })
}

// Reset restarts both iterations.
func (l *LookupSids) Reset() {
	l.doms.reset()
	l.names.reset()
}

// Domain returns referenced domain i (walking the list from the start) and whether it exists.
func (l *LookupSids) Domain(i int, ti *TrustInformation) bool {
	if i < 0 || i >= l.Domains {
		return false
	}
	rd := ndrReader{b: l.stub, off: l.doms.first}
	for j := 0; j <= i; j++ {
		if l.domain(&rd, j, ti) != nil {
			return false
		}
	}
	return true
}
