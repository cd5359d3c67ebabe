package dcerpc

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// SRVSVC NetrShareEnum (MS-SRVS 3.1.4.8) at information level 1.
const (
	// OpNetrShareEnum is the opnum of NetrShareEnum (Samba: srvsvc_NetShareEnumAll).
	OpNetrShareEnum uint16 = 15
	// ShareInfoLevel1 selects SHARE_INFO_1_CONTAINER (MS-SRVS 2.2.4.38).
	ShareInfoLevel1 uint32 = 1
	// MaxPreferredLength asks the server for all entries at once (MS-SRVS 2.2.2.2).
	MaxPreferredLength uint32 = 0xffffffff
	// MaxShares caps EntriesRead in a response.
	MaxShares = 10000
	// MaxStringChars caps the maximum count (UTF-16 code units, terminator included) of each
	// string in a response, and of ServerName in a request.
	MaxStringChars = 1024
)

// Referent IDs of the request's unique pointers (any non-zero value would do; these are the
// ones Windows and Samba clients use).
const (
	refServerName   = 0x00020000
	refContainer    = 0x00020004
	refResumeHandle = 0x00020008
)

// NetShareEnumRequest is the NDR stub of a NetrShareEnum request (MS-SRVS 3.1.4.8) at level 1:
//
//	ServerName              unique pointer to a conformant varying wchar_t string, or NULL
//	InfoStruct              Level 1, union switch 1, unique pointer to
//	                        SHARE_INFO_1_CONTAINER{EntriesRead 0, Buffer NULL}
//	PreferedMaximumLength   uint32
//	ResumeHandle            unique pointer to uint32
//
// An empty ServerName sends a NULL pointer; a longer name than MaxStringChars-1 UTF-16 code
// units is cut at a character boundary. A zero PreferredMaximumLength sends
// MaxPreferredLength.
type NetShareEnumRequest struct {
	ServerName             string
	PreferredMaximumLength uint32
	ResumeHandle           uint32
}

func (r *NetShareEnumRequest) nameUnits() int { return utf16Units(r.ServerName, MaxStringChars-1) }

// Size returns the encoded size of the stub.
func (r *NetShareEnumRequest) Size() int {
	n := 4 // ServerName referent
	if r.ServerName != "" {
		n += 12 + (2*(r.nameUnits()+1)+3)&^3
	}
	return n + 20 + 4 + 8
}

// AppendTo appends the NDR stub (not a PDU; see AppendPDU) to dst. Alignment is counted from
// len(dst), where the stub starts.
func (r *NetShareEnumRequest) AppendTo(dst []byte) []byte {
	le := binary.LittleEndian
	start := len(dst)
	if r.ServerName == "" {
		dst = le.AppendUint32(dst, 0)
	} else {
		units := r.nameUnits()
		dst = le.AppendUint32(dst, refServerName)
		dst = le.AppendUint32(dst, uint32(units+1)) // maximum count, NUL included
		dst = le.AppendUint32(dst, 0)               // offset
		dst = le.AppendUint32(dst, uint32(units+1)) // actual count
		dst = appendUTF16Units(dst, r.ServerName, units)
		dst = le.AppendUint16(dst, 0)
		dst = pad4(dst, start)
	}
	dst = le.AppendUint32(dst, ShareInfoLevel1) // SHARE_ENUM_STRUCT.Level
	dst = le.AppendUint32(dst, ShareInfoLevel1) // SHARE_ENUM_UNION discriminant
	dst = le.AppendUint32(dst, refContainer)    // Level1 pointer
	dst = le.AppendUint32(dst, 0)               // EntriesRead
	dst = le.AppendUint32(dst, 0)               // Buffer: NULL
	pref := r.PreferredMaximumLength
	if pref == 0 {
		pref = MaxPreferredLength
	}
	dst = le.AppendUint32(dst, pref)
	dst = le.AppendUint32(dst, refResumeHandle)
	return le.AppendUint32(dst, r.ResumeHandle)
}

// PDUSize returns the size of the REQUEST PDU that AppendPDU writes.
func (r *NetShareEnumRequest) PDUSize() int { return RequestHeaderSize + r.Size() }

// AppendPDU appends a single-fragment REQUEST PDU (opnum 15, presentation context contextID)
// carrying the stub.
func (r *NetShareEnumRequest) AppendPDU(dst []byte, callID uint32, contextID uint16) []byte {
	stub := r.Size()
	dst = appendHeader(dst, PacketRequest, FlagFirstFrag|FlagLastFrag, RequestHeaderSize+stub, callID)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(stub))
	dst = binary.LittleEndian.AppendUint16(dst, contextID)
	dst = binary.LittleEndian.AppendUint16(dst, OpNetrShareEnum)
	return r.AppendTo(dst)
}

// NetShareEnumResponse is a view over the NDR stub of a NetrShareEnum response (the joined
// stub of its RESPONSE fragments):
//
//	InfoStruct     Level, union switch, unique pointer to the container:
//	               EntriesRead, unique pointer to a conformant array of EntriesRead
//	               SHARE_INFO_1{netname pointer, type, remark pointer}, then the deferred
//	               strings in order (netname and remark of entry 0, then of entry 1, ...)
//	TotalEntries   uint32
//	ResumeHandle   unique pointer to uint32
//	return value   NET_API_STATUS (a WERROR: 0, ERROR_MORE_DATA, ERROR_ACCESS_DENIED, ...)
//
// The container pointer and the array pointer may be NULL (e.g. with an error return), and so
// may each string pointer. Only level 1 entries are decoded; a response at another level is
// accepted only when it carries no entries.
type NetShareEnumResponse []byte

// ShareInfo1 is one SHARE_INFO_1 (MS-SRVS 2.2.4.23). Name and Remark are raw UTF-16LE views into
// the stub without the terminating NUL, nil for a NULL pointer (an empty string is non-nil).
// They are server-controlled: convert (wire.DecodeUTF16LE) and sanitize before display.
type ShareInfo1 struct {
	Name   []byte
	Type   uint32
	Remark []byte
}

// ShareEnum holds a decoded NetrShareEnum response and iterates its shares. It references the
// stub it was decoded from.
type ShareEnum struct {
	Level           uint32 // SHARE_ENUM_STRUCT.Level the server answered with
	EntriesRead     uint32 // entries in this response (0 when the container is NULL)
	TotalEntries    uint32 // entries the server has in all
	ResumeHandle    uint32 // valid when HasResumeHandle
	HasResumeHandle bool
	WError          uint32 // the call's return value (WErr* values); check it first

	stub    []byte
	arrayAt int         // offset of the first SHARE_INFO_1
	entries entryCursor // over the array (no entries when Buffer is NULL) and its deferred strings
}

// shareInfo1Size is the wire size of the fixed part of a SHARE_INFO_1.
const shareInfo1Size = 12

// Validate checks the whole stub (every count, pointer, string and offset).
func (r NetShareEnumResponse) Validate() error {
	var e ShareEnum
	return r.Decode(&e)
}

// Decode validates the whole stub and fills e, ready for Next. It does not allocate (except
// for the error on failure).
func (r NetShareEnumResponse) Decode(e *ShareEnum) error {
	const what = "NetrShareEnum response"
	*e = ShareEnum{stub: r}
	rd := ndrReader{b: r}
	level, err := rd.u32(what + ": Level")
	if err != nil {
		return err
	}
	sw, err := rd.u32(what + ": union switch")
	if err != nil {
		return err
	}
	if sw != level {
		return fmt.Errorf("%s: union switch %d for level %d: %w", what, sw, level, wire.ErrMalformed)
	}
	e.Level = level
	container, err := rd.u32(what + ": container pointer")
	if err != nil {
		return err
	}
	if container != 0 {
		if err := e.decodeContainer(&rd); err != nil {
			return err
		}
	}
	if e.TotalEntries, err = rd.u32(what + ": TotalEntries"); err != nil {
		return err
	}
	resume, err := rd.u32(what + ": ResumeHandle pointer")
	if err != nil {
		return err
	}
	if resume != 0 {
		if e.ResumeHandle, err = rd.u32(what + ": ResumeHandle"); err != nil {
			return err
		}
		e.HasResumeHandle = true
	}
	if e.WError, err = rd.u32(what + ": return value"); err != nil {
		return err
	}
	// NDR stubs may be padded to 8 bytes; anything longer is not this structure.
	if extra := len(r) - rd.off; extra > 7 {
		return fmt.Errorf("%s: %d bytes after the return value: %w", what, extra, wire.ErrMalformed)
	}
	return nil
}

// decodeContainer reads the SHARE_INFO_1_CONTAINER: the entry count, the buffer pointer and,
// at level 1, the entries.
func (e *ShareEnum) decodeContainer(rd *ndrReader) error {
	const what = "NetrShareEnum response"
	entries, err := rd.u32(what + ": EntriesRead")
	if err != nil {
		return err
	}
	if entries > MaxShares {
		return fmt.Errorf("%s: EntriesRead %d > %d: %w", what, entries, MaxShares, wire.ErrTooLarge)
	}
	e.EntriesRead = entries
	buffer, err := rd.u32(what + ": Buffer pointer")
	if err != nil {
		return err
	}
	switch {
	case buffer == 0 && entries != 0:
		return fmt.Errorf("%s: EntriesRead %d with a NULL Buffer: %w", what, entries, wire.ErrMalformed)
	case buffer != 0 && e.Level != ShareInfoLevel1:
		return fmt.Errorf("%s: entries at level %d (only level 1 is decoded): %w", what, e.Level, wire.ErrMalformed)
	case buffer != 0:
		return e.decodeArray(rd, entries)
	}
	return nil
}

// decodeArray checks the conformant array of entries and their deferred strings.
func (e *ShareEnum) decodeArray(rd *ndrReader, entries uint32) error {
	const what = "NetrShareEnum response"
	maxCount, err := rd.u32(what + ": array maximum count")
	if err != nil {
		return err
	}
	if maxCount != entries {
		return fmt.Errorf("%s: array maximum count %d, EntriesRead %d: %w", what, maxCount, entries, wire.ErrMalformed)
	}
	count := int(entries)
	e.entries.count = count
	e.arrayAt = rd.off
	if end := rd.off + count*shareInfo1Size; end > len(rd.b) {
		return fmt.Errorf("%s: %d entries at %d: stub of %d bytes: %w", what, entries, rd.off, len(rd.b), wire.ErrShort)
	}
	rd.off += count * shareInfo1Size
	e.entries.first = rd.off
	for i := 0; i < count; i++ {
		if err := e.entry(rd, i, nil); err != nil {
			return fmt.Errorf("%s: entry %d: %w", what, i, err)
		}
	}
	e.entries.reset()
	return nil
}

// entry reads entry i: its fixed part from the array and its deferred strings from rd, which
// must be positioned at them. s may be nil when only checking.
func (e *ShareEnum) entry(rd *ndrReader, i int, s *ShareInfo1) error {
	fixed := e.stub[e.arrayAt+i*shareInfo1Size:]
	namePtr := binary.LittleEndian.Uint32(fixed)
	typ := binary.LittleEndian.Uint32(fixed[4:])
	remarkPtr := binary.LittleEndian.Uint32(fixed[8:])
	var name, remark []byte
	var err error
	if namePtr != 0 {
		if name, err = rd.wstring("shi1_netname", MaxStringChars); err != nil {
			return err
		}
	}
	if remarkPtr != 0 {
		if remark, err = rd.wstring("shi1_remark", MaxStringChars); err != nil {
			return err
		}
	}
	if s != nil {
		*s = ShareInfo1{Name: name, Type: typ, Remark: remark}
	}
	return nil
}

// Next fills s with the next share and reports whether there was one.
func (e *ShareEnum) Next(s *ShareInfo1) bool {
	return e.entries.advance(e.stub, func(rd *ndrReader, i int) error { return e.entry(rd, i, s) })
}

// Reset restarts the iteration at the first share.
func (e *ShareEnum) Reset() { e.entries.reset() }

// Share types (MS-SRVS 2.2.2.4): one base type, optionally OR'd with STYPE_SPECIAL and/or
// STYPE_TEMPORARY.
const (
	STypeDiskTree    uint32 = 0x00000000
	STypePrintQ      uint32 = 0x00000001
	STypeDevice      uint32 = 0x00000002
	STypeIPC         uint32 = 0x00000003
	STypeClusterFS   uint32 = 0x02000000
	STypeClusterSOFS uint32 = 0x04000000
	STypeClusterDFS  uint32 = 0x08000000
	STypeSpecial     uint32 = 0x80000000
	STypeTemporary   uint32 = 0x40000000
)

var shareTypeNames = func() map[uint32]string {
	bases := map[uint32]string{
		STypeDiskTree: "disk", STypePrintQ: "print", STypeDevice: "device", STypeIPC: "ipc",
		STypeClusterFS: "cluster-fs", STypeClusterSOFS: "cluster-sofs", STypeClusterDFS: "cluster-dfs",
	}
	m := make(map[uint32]string, 4*len(bases))
	for t, name := range bases {
		m[t] = name
		m[t|STypeSpecial] = name + ",special"
		m[t|STypeTemporary] = name + ",temporary"
		m[t|STypeSpecial|STypeTemporary] = name + ",special,temporary"
	}
	return m
}()

// ShareTypeName returns the name of a share type: the base type ("disk", "print", "device",
// "ipc", "cluster-fs", "cluster-sofs", "cluster-dfs") followed by ",special" and/or
// ",temporary", e.g. "ipc,special" for IPC$ (0x80000003). An unknown value is returned as
// 0xXXXXXXXX.
func ShareTypeName(t uint32) string { return nameOrHex(shareTypeNames, t) }

// Win32 error codes NetrShareEnum returns (MS-ERREF 2.2).
const (
	WErrSuccess          uint32 = 0
	WErrAccessDenied     uint32 = 5
	WErrNotEnoughMemory  uint32 = 8
	WErrNotSupported     uint32 = 50
	WErrInvalidParameter uint32 = 87
	WErrInvalidLevel     uint32 = 124
	WErrMoreData         uint32 = 234
	WErrInvalidName      uint32 = 123
)

var werrorNames = map[uint32]string{
	WErrSuccess:          "ERROR_SUCCESS",
	WErrAccessDenied:     "ERROR_ACCESS_DENIED",
	WErrNotEnoughMemory:  "ERROR_NOT_ENOUGH_MEMORY",
	WErrNotSupported:     "ERROR_NOT_SUPPORTED",
	WErrInvalidParameter: "ERROR_INVALID_PARAMETER",
	WErrInvalidName:      "ERROR_INVALID_NAME",
	WErrInvalidLevel:     "ERROR_INVALID_LEVEL",
	WErrMoreData:         "ERROR_MORE_DATA",
}

// WErrorName returns the MS-ERREF name of a Win32 error code, e.g. "ERROR_ACCESS_DENIED", or
// its value as 0xXXXXXXXX when unnamed.
func WErrorName(code uint32) string { return nameOrHex(werrorNames, code) }
