// Package smbcrypto implements the cryptography of SMB2/SMB3 message signing and encryption:
// AES-CMAC (RFC 4493), the SP800-108 counter-mode KDF with HMAC-SHA256 and the SMB 3.x key
// derivation built on it (MS-SMB2 3.1.4.2, 3.2.5.3.1, 3.3.5.5.3), the SMB 3.1.1
// preauthentication integrity hash (MS-SMB2 3.2.5.2, 3.3.5.4), message signing with
// HMAC-SHA256, AES-128-CMAC and AES-128-GMAC (MS-SMB2 3.1.4.1, 3.1.5.1), and message
// encryption with AES-128/256-CCM (NIST SP800-38C, written here) and AES-128/256-GCM (the
// standard library) under the SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41, 3.1.4.3).
//
// The package is pure: no I/O, no goroutines, no logging. Key material never appears in an
// error message, and the types that hold keys print as "[redacted]" with any fmt verb.
//
// Published vectors this package is tested against are listed in vectors_test.go.
package smbcrypto
