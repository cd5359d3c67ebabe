package wire

// LogoffRequest is the SMB2 LOGOFF request (MS-SMB2 2.2.7); the session is named by the
// header's SessionID.
type LogoffRequest struct{}

// Size returns the encoded size of the request body.
func (LogoffRequest) Size() int { return 4 }

// AppendTo appends the request body to dst.
func (LogoffRequest) AppendTo(dst []byte) []byte {
	return append(dst, 4, 0, 0, 0) // StructureSize 4, Reserved
}

// LogoffResponse is the SMB2 LOGOFF response (MS-SMB2 2.2.8).
type LogoffResponse []byte

// Validate checks the header and the body's size.
func (r LogoffResponse) Validate() error {
	return validateSMB2Response(r, CmdLogoff, 4, 4, "logoff response")
}
