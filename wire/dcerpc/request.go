package dcerpc

import (
	"encoding/binary"
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// RequestHeaderSize is the size of a REQUEST header without object UUID: the common header,
// alloc_hint, p_cont_id and opnum (C706 12.6.4.9).
const RequestHeaderSize = HeaderSize + 8

// MaxRequestStub is the largest stub one REQUEST fragment can carry (frag_length is 16 bits).
const MaxRequestStub = 0xffff - RequestHeaderSize

// Request is a single-fragment REQUEST PDU (PTYPE 0, C706 12.6.4.9) without object UUID or
// authentication. Stub is the NDR-marshalled [in] parameters; alloc_hint is its length. A zero
// Flags sends FIRST_FRAG|LAST_FRAG. A Stub longer than MaxRequestStub is cut to that length;
// callers must keep stubs within the negotiated max_recv_frag.
type Request struct {
	CallID    uint32
	ContextID uint16
	Opnum     uint16
	Flags     uint8
	Stub      []byte
}

func (r *Request) stub() []byte { return r.Stub[:min(len(r.Stub), MaxRequestStub)] }

// Size returns the encoded size of the PDU.
func (r *Request) Size() int { return RequestHeaderSize + len(r.stub()) }

// AppendTo appends the whole PDU to dst.
func (r *Request) AppendTo(dst []byte) []byte {
	flags := r.Flags
	if flags == 0 {
		flags = FlagFirstFrag | FlagLastFrag
	}
	stub := r.stub()
	dst = appendHeader(dst, PacketRequest, flags, RequestHeaderSize+len(stub), r.CallID)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(stub)))
	dst = binary.LittleEndian.AppendUint16(dst, r.ContextID)
	dst = binary.LittleEndian.AppendUint16(dst, r.Opnum)
	return append(dst, stub...)
}

// FinishRequest sets frag_length and alloc_hint of a REQUEST PDU whose stub was appended after
// its header in place (pdu is the whole PDU: a Request with an empty Stub encoded, then the
// stub appended), so that a PDU can be built in one buffer.
func FinishRequest(pdu []byte) error {
	if len(pdu) < RequestHeaderSize || PDU(pdu).Type() != PacketRequest {
		return fmt.Errorf("request: %d bytes, not a REQUEST PDU: %w", len(pdu), wire.ErrMalformed)
	}
	if len(pdu) > 0xffff {
		return fmt.Errorf("request: %d bytes in one fragment: %w", len(pdu), wire.ErrTooLarge)
	}
	binary.LittleEndian.PutUint16(pdu[8:], uint16(len(pdu)))
	binary.LittleEndian.PutUint32(pdu[HeaderSize:], uint32(len(pdu)-RequestHeaderSize))
	return nil
}

// responseFixed is the size of a RESPONSE header (C706 12.6.4.10).
const responseFixed = HeaderSize + 8

// Response is a view over one RESPONSE fragment (PTYPE 2, C706 12.6.4.10). A response whose stub
// exceeds the server's max_xmit_frag arrives in several fragments: FIRST_FRAG on the first,
// LAST_FRAG on the last; Reassembler joins their stubs.
type Response []byte

// Validate checks the header and the auth_verifier bounds.
func (r Response) Validate() error {
	_, err := validateAs(r, PacketResponse, responseFixed, "response")
	return err
}

// CallID returns the call_id of the REQUEST this answers.
func (r Response) CallID() uint32 { return PDU(r).CallID() }

// Flags returns pfc_flags (FlagFirstFrag, FlagLastFrag, ...).
func (r Response) Flags() uint8 { return PDU(r).Flags() }

// AllocHint returns alloc_hint: the server's estimate of the whole stub's size. It is a hint
// only; nothing should be sized by it.
func (r Response) AllocHint() uint32 { return binary.LittleEndian.Uint32(r[HeaderSize:]) }

// ContextID returns p_cont_id.
func (r Response) ContextID() uint16 { return binary.LittleEndian.Uint16(r[HeaderSize+4:]) }

// CancelCount returns cancel_count.
func (r Response) CancelCount() uint8 { return r[HeaderSize+6] }

// Stub returns this fragment's stub data (without any auth_verifier and its padding).
func (r Response) Stub() []byte { return r[responseFixed:bodyEnd(r)] }

// faultFixed is the size of a FAULT PDU without stub (C706 12.6.4.7, MS-RPCE 2.2.2.13).
const faultFixed = HeaderSize + 16

// Fault is a view over a FAULT PDU (PTYPE 3, C706 12.6.4.7, MS-RPCE 2.2.2.13): the call failed
// in the RPC runtime or the server stub, with the status in Status.
type Fault []byte

// Validate checks the header and the fixed fields.
func (f Fault) Validate() error {
	_, err := validateAs(f, PacketFault, faultFixed, "fault")
	return err
}

// CallID returns the call_id of the failed call.
func (f Fault) CallID() uint32 { return PDU(f).CallID() }

// DidNotExecute reports PFC_DID_NOT_EXECUTE: the server did not run the procedure.
func (f Fault) DidNotExecute() bool { return PDU(f).Flags()&FlagDidNotExecute != 0 }

// AllocHint returns alloc_hint.
func (f Fault) AllocHint() uint32 { return binary.LittleEndian.Uint32(f[HeaderSize:]) }

// ContextID returns p_cont_id.
func (f Fault) ContextID() uint16 { return binary.LittleEndian.Uint16(f[HeaderSize+4:]) }

// CancelCount returns cancel_count.
func (f Fault) CancelCount() uint8 { return f[HeaderSize+6] }

// FaultFlags returns the MS-RPCE fault_flags byte (0x01: extended error information present).
func (f Fault) FaultFlags() uint8 { return f[HeaderSize+7] }

// Status returns the fault status (Fault* values, or a Win32 error code).
func (f Fault) Status() uint32 { return binary.LittleEndian.Uint32(f[HeaderSize+8:]) }

// Fault status codes (C706 appendix E; MS-RPCE 2.2.2.13 and 3.1.1.5.5 for the Win32 codes
// Windows sends).
const (
	FaultOther                 uint32 = 0x00000001 // nca_s_fault_other
	FaultAccessDenied          uint32 = 0x00000005 // nca_s_fault_access_denied
	FaultUnknownInterface      uint32 = 0x000006b5 // RPC_S_UNKNOWN_IF (Windows)
	FaultProcNumOutOfRange     uint32 = 0x000006d1 // RPC_S_PROCNUM_OUT_OF_RANGE (Windows)
	FaultCantPerform           uint32 = 0x000006d8 // nca_s_fault_cant_perform
	FaultNDR                   uint32 = 0x000006f7 // nca_s_fault_ndr (RPC_X_BAD_STUB_DATA)
	FaultIntDivByZero          uint32 = 0x1c000001 // nca_s_fault_int_div_by_zero
	FaultAddrError             uint32 = 0x1c000002 // nca_s_fault_addr_error
	FaultInvalidTag            uint32 = 0x1c000006 // nca_s_fault_invalid_tag
	FaultInvalidBound          uint32 = 0x1c000007 // nca_s_fault_invalid_bound
	FaultRPCVersionMismatch    uint32 = 0x1c000008 // nca_rpc_version_mismatch
	FaultUnspecReject          uint32 = 0x1c000009 // nca_unspec_reject
	FaultBadActID              uint32 = 0x1c00000a // nca_s_bad_actid
	FaultWhoAreYouFailed       uint32 = 0x1c00000b // nca_who_are_you_failed
	FaultManagerNotEntered     uint32 = 0x1c00000c // nca_manager_not_entered
	FaultCancel                uint32 = 0x1c00000d // nca_s_fault_cancel
	FaultContextMismatch       uint32 = 0x1c00001a // nca_s_fault_context_mismatch
	FaultRemoteNoMemory        uint32 = 0x1c00001b // nca_s_fault_remote_no_memory
	FaultInvalidPresContextID  uint32 = 0x1c00001c // nca_invalid_pres_context_id
	FaultUnsupportedAuthnLevel uint32 = 0x1c00001d // nca_unsupported_authn_level
	FaultInvalidChecksum       uint32 = 0x1c00001f // nca_invalid_checksum
	FaultInvalidCRC            uint32 = 0x1c000020 // nca_invalid_crc
	FaultUserDefined           uint32 = 0x1c000021 // nca_s_fault_user_defined
	FaultTxOpenFailed          uint32 = 0x1c000022 // nca_s_fault_tx_open_failed
	FaultCodesetConvError      uint32 = 0x1c000023 // nca_s_fault_codeset_conv_error
	FaultObjectNotFound        uint32 = 0x1c000024 // nca_s_fault_object_not_found
	FaultNoClientStub          uint32 = 0x1c000025 // nca_s_fault_no_client_stub
	FaultOpRangeError          uint32 = 0x1c010002 // nca_s_op_rng_error
	FaultUnknownIf             uint32 = 0x1c010003 // nca_s_unk_if
	FaultWrongBootTime         uint32 = 0x1c010006 // nca_wrong_boot_time
	FaultYouCrashed            uint32 = 0x1c010009 // nca_s_you_crashed
	FaultProtoError            uint32 = 0x1c01000b // nca_s_proto_error
	FaultOutArgsTooBig         uint32 = 0x1c010013 // nca_out_args_too_big
	FaultServerTooBusy         uint32 = 0x1c010014 // nca_server_too_busy
	FaultUnsupportedType       uint32 = 0x1c010017 // nca_unsupported_type
)

var faultNames = map[uint32]string{
	FaultOther:                 "nca_s_fault_other",
	FaultAccessDenied:          "nca_s_fault_access_denied",
	FaultUnknownInterface:      "rpc_s_unknown_if",
	FaultProcNumOutOfRange:     "rpc_s_procnum_out_of_range",
	FaultCantPerform:           "nca_s_fault_cant_perform",
	FaultNDR:                   "nca_s_fault_ndr",
	FaultIntDivByZero:          "nca_s_fault_int_div_by_zero",
	FaultAddrError:             "nca_s_fault_addr_error",
	FaultInvalidTag:            "nca_s_fault_invalid_tag",
	FaultInvalidBound:          "nca_s_fault_invalid_bound",
	FaultRPCVersionMismatch:    "nca_rpc_version_mismatch",
	FaultUnspecReject:          "nca_unspec_reject",
	FaultBadActID:              "nca_s_bad_actid",
	FaultWhoAreYouFailed:       "nca_who_are_you_failed",
	FaultManagerNotEntered:     "nca_manager_not_entered",
	FaultCancel:                "nca_s_fault_cancel",
	FaultContextMismatch:       "nca_s_fault_context_mismatch",
	FaultRemoteNoMemory:        "nca_s_fault_remote_no_memory",
	FaultInvalidPresContextID:  "nca_invalid_pres_context_id",
	FaultUnsupportedAuthnLevel: "nca_unsupported_authn_level",
	FaultInvalidChecksum:       "nca_invalid_checksum",
	FaultInvalidCRC:            "nca_invalid_crc",
	FaultUserDefined:           "nca_s_fault_user_defined",
	FaultTxOpenFailed:          "nca_s_fault_tx_open_failed",
	FaultCodesetConvError:      "nca_s_fault_codeset_conv_error",
	FaultObjectNotFound:        "nca_s_fault_object_not_found",
	FaultNoClientStub:          "nca_s_fault_no_client_stub",
	FaultOpRangeError:          "nca_s_op_rng_error",
	FaultUnknownIf:             "nca_s_unk_if",
	FaultWrongBootTime:         "nca_wrong_boot_time",
	FaultYouCrashed:            "nca_s_you_crashed",
	FaultProtoError:            "nca_s_proto_error",
	FaultOutArgsTooBig:         "nca_out_args_too_big",
	FaultServerTooBusy:         "nca_server_too_busy",
	FaultUnsupportedType:       "nca_unsupported_type",
}

// FaultName returns the name of a fault status, e.g. "nca_s_op_rng_error", or its value as
// 0xXXXXXXXX when unnamed.
func FaultName(status uint32) string { return nameOrHex(faultNames, status) }

// nameOrHex returns the name of v in names, or v as 0xXXXXXXXX when it has none.
func nameOrHex(names map[uint32]string, v uint32) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("0x%08x", v)
}

// FaultError is returned by Reassembler.Add when the server answers a call with a FAULT PDU.
type FaultError struct {
	CallID        uint32
	Status        uint32
	DidNotExecute bool
}

func (e *FaultError) Error() string {
	return fmt.Sprintf("dcerpc fault %s (0x%08x) for call %d", FaultName(e.Status), e.Status, e.CallID)
}

// MaxResponseFragments caps the number of fragments Reassembler accepts for one call, so that a
// peer cannot keep a caller looping on empty fragments.
const MaxResponseFragments = 4096

// Reassembler joins the stub data of a response that arrives in one or more RESPONSE fragments
// (C706 12.6.3.1 FIRST_FRAG/LAST_FRAG) into a caller-supplied buffer, never beyond a limit.
// Fragments are handed over whole with Add, or the reply is written as a byte stream in chunks
// of any size with Write (stream.go). The zero value is unusable; call Reset first.
type Reassembler struct {
	buf    []byte
	limit  int
	callID uint32
	frags  int
	done   bool

	// Write's state: the start of a fragment whose end has not arrived yet (at most one
	// fragment, so at most 65535 bytes: frag_length has 16 bits), the bytes taken so far and
	// the first error, after which the stream's position is unknown.
	part    []byte
	written int64
	err     error
}

// Reset prepares r for the response to call callID: stub data is appended to buf (pass buf[:0]
// of a reused buffer) and limited to limit bytes in total; limit <= 0 means cap(buf), which
// keeps Add from ever allocating. The buffer Write keeps a partial fragment in is kept across
// Resets, so a reused Reassembler does not allocate it again.
func (r *Reassembler) Reset(buf []byte, callID uint32, limit int) {
	if limit <= 0 {
		limit = cap(buf)
	}
	*r = Reassembler{buf: buf[:0], limit: limit, callID: callID, part: r.part[:0]}
}

// Add takes the fragment at the start of b and returns its length n (b may hold further
// fragments after it), and whether it was the last fragment. The fragment must be a RESPONSE
// to the expected call (a FAULT becomes a *FaultError), FIRST_FRAG must be set on the first
// fragment only, nothing may follow the last one, and the joined stub must stay within the
// limit (wire.ErrTooLarge otherwise).
func (r *Reassembler) Add(b []byte) (n int, last bool, err error) {
	if r.done {
		return 0, true, fmt.Errorf("response: fragment after the last one: %w", wire.ErrMalformed)
	}
	if len(r.part) > 0 {
		return 0, false, fmt.Errorf("response: Add with %d bytes of a fragment pending from Write: %w", len(r.part), wire.ErrMalformed)
	}
	return r.add(b)
}

// add is Add once the state allows another fragment.
func (r *Reassembler) add(b []byte) (n int, last bool, err error) {
	if err := PDU(b).Validate(); err != nil {
		return 0, false, fmt.Errorf("response: %w", err)
	}
	h := PDU(b)
	n = h.FragLength()
	if h.Type() == PacketFault {
		f := Fault(b[:n])
		if err := f.Validate(); err != nil {
			return n, false, err
		}
		r.done = true
		return n, true, &FaultError{CallID: f.CallID(), Status: f.Status(), DidNotExecute: f.DidNotExecute()}
	}
	resp := Response(b[:n])
	if err := resp.Validate(); err != nil {
		return n, false, err
	}
	if id := resp.CallID(); id != r.callID {
		return n, false, fmt.Errorf("response: call_id %d, expected %d: %w", id, r.callID, wire.ErrMalformed)
	}
	first := resp.Flags()&FlagFirstFrag != 0
	if first != (r.frags == 0) {
		return n, false, fmt.Errorf("response: fragment %d has FIRST_FRAG=%v: %w", r.frags, first, wire.ErrMalformed)
	}
	if r.frags >= MaxResponseFragments {
		return n, false, fmt.Errorf("response: more than %d fragments: %w", MaxResponseFragments, wire.ErrTooLarge)
	}
	stub := resp.Stub()
	if len(r.buf)+len(stub) > r.limit {
		return n, false, fmt.Errorf("response: stub of %d+%d bytes exceeds %d: %w", len(r.buf), len(stub), r.limit, wire.ErrTooLarge)
	}
	r.buf = append(r.buf, stub...)
	r.frags++
	r.done = resp.Flags()&FlagLastFrag != 0
	return n, r.done, nil
}

// Done reports whether the last fragment (or a fault) has arrived.
func (r *Reassembler) Done() bool { return r.done }

// Fragments returns the number of RESPONSE fragments added so far.
func (r *Reassembler) Fragments() int { return r.frags }

// Stub returns the stub data joined so far; it is complete once Done.
func (r *Reassembler) Stub() []byte { return r.buf }
