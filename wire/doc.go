// Package wire is smbsweep's pure SMB codec.
//
// It encodes requests by appending into caller-supplied buffers and decodes responses as views
// over received bytes, each checked by one up-front Validate. It performs no I/O, starts no
// goroutines and logs nothing. Every length and offset read from the wire is bounds-checked
// before use, and nothing is ever sized by a peer-supplied length without a cap.
//
// Conventions:
//   - A request is a struct with Size() and AppendTo(dst []byte) []byte. It appends only its
//     body; offsets inside a body are relative to the start of the SMB2 header, which the body
//     directly follows (smbsweep never compounds requests).
//   - A response is a named []byte over the whole SMB2 message (header included, since the
//     protocol's offsets are relative to the header), with accessors that are valid only after
//     Validate returned nil.
//   - Errors are the sentinels below, wrapped with the message and field that failed.
package wire
