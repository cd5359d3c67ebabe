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
// The package is a pure codec: the NTLM cryptography (NT hash, NTOWFv2, the NTLMv1/v2
// responses, key exchange, the MIC, NTLM signing and sealing) lives in internal/ntlmcrypto,
// next to SMB's own in internal/smbcrypto.
package ntlmssp
