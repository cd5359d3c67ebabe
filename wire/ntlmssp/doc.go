// Package ntlmssp encodes and decodes NTLM Authentication Protocol messages (MS-NLMP).
//
// It follows the conventions of package wire: messages the client sends (NEGOTIATE_MESSAGE,
// AUTHENTICATE_MESSAGE) are structs with Size and AppendTo that append into a caller buffer;
// messages it receives (CHALLENGE_MESSAGE) are []byte views with one up-front Validate that
// checks every offset and length, followed by cheap accessors. A view of the AUTHENTICATE_MESSAGE
// and an encoder of the CHALLENGE_MESSAGE exist too, so tests and fake servers can speak the
// other side. Nothing here does I/O, and no decoder allocates or panics on any input.
//
// The security buffers handled here travel inside SPNEGO (package wire/spnego), itself inside
// the SMB2 SESSION_SETUP security buffer; this package sees only the NTLMSSP bytes.
//
// ntlmv2.go adds the NTLMv2 response computation (MS-NLMP 3.3.2), key exchange and the MIC
// (MS-NLMP 3.1.5.1.2, 3.4.5). Those functions handle secrets: no error or String method in this
// package ever formats a password, hash or key.
package ntlmssp
