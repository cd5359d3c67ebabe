package wire

import "errors"

// Sentinel errors returned (wrapped) by every decoder in this package and its subpackages.
var (
	// ErrShort means the buffer ends before a fixed-size structure does.
	ErrShort = errors.New("message too short")
	// ErrBadOffset means an offset/length pair points outside the message.
	ErrBadOffset = errors.New("offset or length out of bounds")
	// ErrBadProtocol means the protocol identifier is not the one expected.
	ErrBadProtocol = errors.New("bad protocol identifier")
	// ErrBadStructureSize means a StructureSize field does not hold the value the spec fixes.
	ErrBadStructureSize = errors.New("bad structure size")
	// ErrTooLarge means a length field exceeds the cap smbsweep accepts.
	ErrTooLarge = errors.New("length exceeds limit")
	// ErrBadCommand means the message is a response to a different command.
	ErrBadCommand = errors.New("unexpected command")
	// ErrMalformed means the message is structurally invalid in a way not covered above.
	ErrMalformed = errors.New("malformed message")
)
