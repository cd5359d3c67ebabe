// Package ntlmcrypto is the cryptography of NTLM (MS-NLMP), kept next to SMB's own
// (package smbcrypto) so that package wire/ntlmssp stays a pure codec of the messages: the NT
// hash and NTOWFv2 (3.3.1, 3.3.2), the NTLMv2 and LMv2 responses and the session base key
// (3.3.2), the NTLMv1 response of the opt-in legacy SMB1 logon (3.3.1), key exchange with
// RC4K, the MIC of the AUTHENTICATE_MESSAGE (3.1.5.1.2), and SIGNKEY, SEALKEY and the RC4
// signing and sealing of an NTLM security context (3.4), which SPNEGO's mechListMIC uses.
// NTLMv2Auth builds a whole AUTHENTICATE_MESSAGE from these and the codec.
//
// The package is pure: no I/O, no goroutines, no logging. MD4 is golang.org/x/crypto/md4.
// Those functions handle secrets: no error or String method here ever formats a password,
// hash or key, and Key prints as "[REDACTED]" with any fmt verb.
package ntlmcrypto
