// Package spnego encodes and decodes the SPNEGO tokens (RFC 4178, MS-SPNG) that carry NTLMSSP
// messages in the SMB2 NEGOTIATE and SESSION_SETUP security buffers.
//
// Encoding is a small hand-written DER encoder that appends into a caller buffer (definite,
// minimal lengths) and allocates nothing; cryptobyte.Builder was measured at 7 allocations per
// token. Decoding uses golang.org/x/crypto/cryptobyte, which enforces DER's definite minimal
// lengths, over a fixed schema: each decoder reads the fields RFC 4178 defines, in order, rejects
// an unexpected tag, trailing bytes inside any constructed value or after the token, and never
// recurses into data it does not know, so nesting depth is bounded by the schema (at most seven
// levels). Decoded values are views into the input; no decoder allocates.
//
// Some servers answer SESSION_SETUP with a bare NTLMSSP message instead of a NegTokenResp;
// IsRawNTLMSSP recognises those.
package spnego
