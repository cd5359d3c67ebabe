// Package smb1conn is smbsweep's SMB1 (CIFS, "NT LM 0.12") client session: one connection
// that negotiates, logs on (anonymous, guest, or NTLMv2 with a password or NT hash, in the
// extended-security SPNEGO/NTLMSSP form or the NT LM 0.12 challenge/response form), signs its
// messages when the server requires it, connects trees and opens, reads, writes, lists and
// queries files and named pipes.
//
// It is the SMB1 counterpart of transport.Conn plus the logon, built on package wire/smb1 for
// every message and on transport.Conn for the NetBIOS session framing (which is the same for
// SMB1 and SMB2). Like transport.Conn it is not safe for concurrent use and sends one request
// at a time. Every length the server sends is capped before it sizes anything: frames by
// Options.MaxFrame, transaction replies by the caller's buffers (or MaxTransactionReply),
// directory listings by the caller's callback and MaxFindRounds.
//
// Authentication sends NTLMv2 responses (MS-NLMP 3.3.2), and for an anonymous logon empty
// ones; never an LM response, and an NTLMv1 response only when Options.AllowNTLMv1 is set and
// the server refused NTLMv2 (recorded in Session.NTLMv1). A server that offers neither
// extended security nor a challenge (share-level or plaintext servers) is refused with
// ErrNoNTLMv2.
package smb1conn
