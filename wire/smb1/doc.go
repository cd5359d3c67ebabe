// Package smb1 is smbsweep's SMB1 (CIFS) codec, limited to what the dedicated "SMB1 enabled"
// probe needs: the SMB header (MS-CIFS 2.2.3.1) and SMB_COM_NEGOTIATE (MS-CIFS 2.2.4.52, with
// the extended-security response of MS-SMB 2.2.4.5.2).
//
// smbsweep decides whether a server speaks SMB1 by sending one SMB1 NEGOTIATE offering only the
// "NT LM 0.12" dialect on a connection of its own, never by inference from an SMB2 reply. The
// request is built with AppendProbeNegotiate (or NegotiateRequest and Header for other
// dialect lists); the reply is read through the NegotiateResponse view after Validate.
//
// Conventions are those of package wire: requests append into caller buffers, responses are
// views over the whole SMB1 message (the bytes after the 4-byte NetBIOS header) whose
// accessors are valid only after Validate returned nil, nothing allocates, nothing panics, and
// errors wrap the sentinels of package wire.
package smb1
