package wire

// EchoRequest is the SMB2 ECHO request (MS-SMB2 2.2.28), a keep-alive that needs no session.
type EchoRequest struct{}

// Size returns the encoded size of the request body.
func (EchoRequest) Size() int { return 4 }

// AppendTo appends the request body to dst.
func (EchoRequest) AppendTo(dst []byte) []byte {
	return append(dst, 4, 0, 0, 0) // StructureSize 4, Reserved
}

// EchoResponse is the SMB2 ECHO response (MS-SMB2 2.2.29): a view over the whole message.
type EchoResponse []byte

// Validate checks the header and the body's size.
func (r EchoResponse) Validate() error {
	return validateSMB2Response(r, CmdEcho, 4, 4, "echo response")
}
