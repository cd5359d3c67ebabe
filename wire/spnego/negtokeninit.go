package spnego

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"

	"github.com/smbsweep/smbsweep/wire"
)

// MaxMechTypes caps how many mechanism OIDs a decoded MechTypeList keeps. Windows offers five,
// Samba two or three; the rest of a longer list is still checked but not stored.
const MaxMechTypes = 16

// MechTypeList is a bounded list of mechanism OIDs (RFC 4178 section 4.1, MechTypeList), in
// preference order. The zero value is empty.
type MechTypeList struct {
	mechs [MaxMechTypes]OID
	n     int
	// Truncated is set when a decoded list held more than MaxMechTypes OIDs.
	Truncated bool
}

// Len returns the number of OIDs held.
func (l *MechTypeList) Len() int { return l.n }

// At returns the i'th OID; i must be in [0, Len()).
func (l *MechTypeList) At(i int) OID { return l.mechs[i] }

// Add appends o and reports whether there was room.
func (l *MechTypeList) Add(o OID) bool {
	if l.n == MaxMechTypes {
		l.Truncated = true
		return false
	}
	l.mechs[l.n] = o
	l.n++
	return true
}

// Contains reports whether the list holds o.
func (l *MechTypeList) Contains(o OID) bool {
	for i := 0; i < l.n; i++ {
		if l.mechs[i].Equal(o) {
			return true
		}
	}
	return false
}

// contentsSize is the size of the SEQUENCE OF contents.
func (l *MechTypeList) contentsSize() int {
	n := 0
	for i := 0; i < l.n; i++ {
		n += tlvSize(len(l.mechs[i]))
	}
	return n
}

// AppendDER appends the DER encoding of the list (SEQUENCE OF MechType): the bytes the
// mechListMIC of an exchange covers (RFC 4178 section 5), for the list the client sent.
func (l *MechTypeList) AppendDER(dst []byte) []byte {
	dst = appendHeader(dst, tagSequence, l.contentsSize())
	for i := 0; i < l.n; i++ {
		dst = appendTLV(dst, tagOID, l.mechs[i])
	}
	return dst
}

// NegTokenInit is the first SPNEGO token (RFC 4178 section 4.2.1), and also the server's
// NegTokenInit2 hint in the SMB2 NEGOTIATE response (MS-SPNG 2.2.1), which adds negHints at
// [3] and moves mechListMIC to [4]. Both travel inside the GSS-API InitialContextToken
// (RFC 2743 section 3.1): [APPLICATION 0] { OID 1.3.6.1.5.5.2, [0] NegTokenInit }.
//
// The embedded MechTypeList holds mechTypes; Len and At read it directly. Byte fields are
// views into the decoded token, nil when absent.
type NegTokenInit struct {
	MechTypeList
	// MechTypesDER is the DER encoding of the received mechTypes SEQUENCE (decode only); a
	// mechListMIC is computed over these bytes (RFC 4178 section 5).
	MechTypesDER []byte
	// ReqFlags is the contents of the reqFlags BIT STRING (decode only; obsolete per RFC 4178).
	ReqFlags []byte
	// MechToken is the optimistic token of the first mechanism, e.g. an NTLM NEGOTIATE_MESSAGE.
	MechToken []byte
	// HintName is negHints.hintName (MS-SPNG 2.2.1), GeneralString bytes; Windows and Samba
	// send "not_defined_in_RFC4178@please_ignore". When HintName or HintAddress is set, the
	// token is a NegTokenInit2 and mechListMIC is encoded at [4].
	HintName []byte
	// HintAddress is negHints.hintAddress.
	HintAddress []byte
	// MechListMIC is mechListMIC ([3] in NegTokenInit, [4] in NegTokenInit2).
	MechListMIC []byte
}

// HintNameIgnore is the negHints hintName Windows and Samba send (MS-SPNG 3.2.5.2).
const HintNameIgnore = "not_defined_in_RFC4178@please_ignore"

func (t *NegTokenInit) isInit2() bool { return t.HintName != nil || t.HintAddress != nil }

func (t *NegTokenInit) hintsSize() int {
	n := 0
	if t.HintName != nil {
		n += explicitSize(len(t.HintName))
	}
	if t.HintAddress != nil {
		n += explicitSize(len(t.HintAddress))
	}
	return n
}

// seqContentsSize is the size of the NegTokenInit SEQUENCE contents.
func (t *NegTokenInit) seqContentsSize() int {
	n := 0
	if t.Len() > 0 {
		n += tlvSize(tlvSize(t.contentsSize()))
	}
	if t.MechToken != nil {
		n += explicitSize(len(t.MechToken))
	}
	if t.isInit2() {
		n += tlvSize(tlvSize(t.hintsSize()))
	}
	if t.MechListMIC != nil {
		n += explicitSize(len(t.MechListMIC))
	}
	return n
}

// innerSize is the size of the InitialContextToken contents: the SPNEGO OID and [0] NegTokenInit.
func (t *NegTokenInit) innerSize() int {
	return tlvSize(len(OIDSPNEGO)) + tlvSize(tlvSize(t.seqContentsSize()))
}

// Size returns the encoded size of the token.
func (t *NegTokenInit) Size() int { return tlvSize(t.innerSize()) }

// AppendTo appends the token, wrapped in the InitialContextToken, to dst. ReqFlags and
// MechTypesDER are not encoded (mechTypes comes from the embedded list).
func (t *NegTokenInit) AppendTo(dst []byte) []byte {
	dst = appendHeader(dst, tagApplication0, t.innerSize())
	dst = appendTLV(dst, tagOID, OIDSPNEGO)
	seq := t.seqContentsSize()
	dst = appendHeader(dst, tagContext0, tlvSize(seq))
	dst = appendHeader(dst, tagSequence, seq)
	if t.Len() > 0 {
		dst = appendHeader(dst, tagContext0, tlvSize(t.contentsSize()))
		dst = t.AppendDER(dst)
	}
	if t.MechToken != nil {
		dst = appendExplicit(dst, tagContext2, tagOctetString, t.MechToken)
	}
	micTag := byte(tagContext3)
	if t.isInit2() {
		hints := t.hintsSize()
		dst = appendHeader(dst, tagContext3, tlvSize(hints))
		dst = appendHeader(dst, tagSequence, hints)
		if t.HintName != nil {
			dst = appendExplicit(dst, tagContext0, tagGeneralString, t.HintName)
		}
		if t.HintAddress != nil {
			dst = appendExplicit(dst, tagContext1, tagOctetString, t.HintAddress)
		}
		micTag = tagContext4
	}
	if t.MechListMIC != nil {
		dst = appendExplicit(dst, micTag, tagOctetString, t.MechListMIC)
	}
	return dst
}

// NTLMMechTypeList returns the mechTypes list AppendNegTokenInit offers: NTLMSSP alone. Its
// AppendDER is what the client's mechListMIC signs.
func NTLMMechTypeList() MechTypeList {
	var l MechTypeList
	l.Add(OIDNTLMSSP)
	return l
}

// AppendNegTokenInit appends the client's initial token offering NTLMSSP only, with mechToken
// (an NTLM NEGOTIATE_MESSAGE) as the optimistic token. mechToken may share dst's backing
// array as long as it lies before len(dst).
func AppendNegTokenInit(dst, mechToken []byte) []byte {
	t := NegTokenInit{MechTypeList: NTLMMechTypeList(), MechToken: mechToken}
	if mechToken == nil {
		t.MechToken = empty[:0:0]
	}
	return t.AppendTo(dst)
}

// DecodeNegTokenInit decodes a NegTokenInit or NegTokenInit2, either wrapped in the GSS-API
// InitialContextToken (as Windows and Samba send it) or bare ([0] NegTokenInit).
func DecodeNegTokenInit(b []byte) (NegTokenInit, error) {
	var t NegTokenInit
	err := t.Decode(b)
	return t, err
}

// Decode decodes b into t (zeroed first); see DecodeNegTokenInit.
func (t *NegTokenInit) Decode(b []byte) error {
	*t = NegTokenInit{}
	if err := t.decode(b); err != nil {
		*t = NegTokenInit{}
		return fmt.Errorf("spnego negTokenInit: %w", err)
	}
	return nil
}

func (t *NegTokenInit) decode(b []byte) error {
	if len(b) > MaxTokenSize {
		return fmt.Errorf("%d bytes: %w", len(b), wire.ErrTooLarge)
	}
	s := cryptobyte.String(b)
	var neg cryptobyte.String
	var err error
	if s.PeekASN1Tag(tagApplication0) {
		ict, err := read(&s, tagApplication0, "initial context token")
		if err != nil {
			return err
		}
		mech, err := readOID(&ict, "thisMech")
		if err != nil {
			return err
		}
		if !mech.Equal(OIDSPNEGO) {
			return fmt.Errorf("thisMech %v is not SPNEGO: %w", mech, wire.ErrBadProtocol)
		}
		if neg, err = read(&ict, tagContext0, "negTokenInit"); err != nil {
			return err
		}
		if !ict.Empty() {
			return trailing("initial context token", len(ict))
		}
	} else if neg, err = read(&s, tagContext0, "negTokenInit"); err != nil {
		return err
	}
	if !s.Empty() {
		return trailing("token", len(s))
	}
	seq, err := read(&neg, tagSequence, "negTokenInit")
	if err != nil {
		return err
	}
	if !neg.Empty() {
		return trailing("negTokenInit", len(neg))
	}
	return t.decodeFields(seq)
}

func (t *NegTokenInit) decodeFields(seq cryptobyte.String) error {
	// [0] mechTypes: optional in NegTokenInit2.
	if c0, ok, err := readOptional(&seq, tagContext0, "mechTypes"); err != nil {
		return err
	} else if ok {
		if err := t.decodeMechTypes(c0); err != nil {
			return err
		}
	}
	// [1] reqFlags ContextFlags (BIT STRING).
	if f, ok, err := readExplicit(&seq, tagContext1, tagBitString, "reqFlags"); err != nil {
		return err
	} else if ok {
		t.ReqFlags = view(f)
	}
	// [2] mechToken.
	if tok, ok, err := readExplicit(&seq, tagContext2, tagOctetString, "mechToken"); err != nil {
		return err
	} else if ok {
		t.MechToken = emptyNotNil(tok)
	}
	// [3] is negHints (SEQUENCE) in a NegTokenInit2 and mechListMIC (OCTET STRING) in a
	// NegTokenInit; the inner tag tells them apart.
	if c3, ok, err := readOptional(&seq, tagContext3, "negHints"); err != nil {
		return err
	} else if ok {
		if err := t.decodeContext3(c3); err != nil {
			return err
		}
	}
	if t.MechListMIC == nil {
		if mic, ok, err := readExplicit(&seq, tagContext4, tagOctetString, "mechListMIC"); err != nil {
			return err
		} else if ok {
			t.MechListMIC = emptyNotNil(mic)
		}
	}
	if !seq.Empty() {
		return fmt.Errorf("negTokenInit: unexpected element with tag 0x%02x: %w", seq[0], wire.ErrMalformed)
	}
	return nil
}

// decodeMechTypes reads the [0] MechTypeList, keeping its DER (the mechListMIC covers it).
func (t *NegTokenInit) decodeMechTypes(c0 cryptobyte.String) error {
	var der cryptobyte.String
	if orig := c0; !c0.ReadASN1Element(&der, tagSequence) {
		return derError(orig, tagSequence, "mechTypes")
	}
	if !c0.Empty() {
		return trailing("mechTypes", len(c0))
	}
	t.MechTypesDER = view(der)
	list, _ := read(&der, tagSequence, "mechTypes") // cannot fail: just read as an element
	for i := 0; !list.Empty(); i++ {
		o, err := readOID(&list, "mechTypes")
		if err != nil {
			return err
		}
		t.Add(o)
	}
	return nil
}

// decodeContext3 reads [3]: negHints in a NegTokenInit2, a mechListMIC in a NegTokenInit.
func (t *NegTokenInit) decodeContext3(c3 cryptobyte.String) error {
	if c3.PeekASN1Tag(tagSequence) {
		return t.decodeHints(c3)
	}
	mic, err := read(&c3, tagOctetString, "mechListMIC")
	if err != nil {
		return err
	}
	if !c3.Empty() {
		return trailing("mechListMIC", len(c3))
	}
	t.MechListMIC = emptyNotNil(mic)
	return nil
}

func (t *NegTokenInit) decodeHints(c3 cryptobyte.String) error {
	hints, err := read(&c3, tagSequence, "negHints")
	if err != nil {
		return err
	}
	if !c3.Empty() {
		return trailing("negHints", len(c3))
	}
	if name, ok, err := readExplicit(&hints, tagContext0, tagGeneralString, "hintName"); err != nil {
		return err
	} else if ok {
		t.HintName = emptyNotNil(name)
	}
	if addr, ok, err := readExplicit(&hints, tagContext1, tagOctetString, "hintAddress"); err != nil {
		return err
	} else if ok {
		t.HintAddress = emptyNotNil(addr)
	}
	if !hints.Empty() {
		return trailing("negHints", len(hints))
	}
	return nil
}

// emptyNotNil returns a view of b that is non-nil even when b is empty, so a present but empty
// field stays distinguishable from an absent one.
func emptyNotNil(b []byte) []byte {
	if len(b) == 0 {
		return empty[:0:0]
	}
	return b[:len(b):len(b)]
}

var empty [0]byte
