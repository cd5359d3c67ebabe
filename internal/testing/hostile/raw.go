package hostile

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// The handlers below do not speak SMB at all: they model what a scanner meets on port 445 that
// is not an SMB server.

// Tarpit accepts and then never answers: it reads and discards whatever arrives until the
// client gives up (a firewall tarpit, a hung service).
func Tarpit() Handler {
	return func(_ context.Context, c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
	}
}

// Slowloris waits for the first request, then sends reply one byte every interval — a valid
// reply that arrives too slowly to be of use. It keeps reading (and ignoring) meanwhile.
func Slowloris(reply []byte, interval time.Duration) Handler {
	return func(ctx context.Context, c net.Conn) {
		var buf [512]byte
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
		go func() { _, _ = io.Copy(io.Discard, c) }()
		for i := range reply {
			if !sleep(ctx, interval) {
				return
			}
			if _, err := c.Write(reply[i : i+1]); err != nil {
				return
			}
		}
		<-ctx.Done()
	}
}

// Banner sends b — immediately when first is true (a service that greets, like SSH or SMTP),
// otherwise after the client's first bytes (HTTP) — and closes the connection.
func Banner(b []byte, first bool) Handler {
	return func(_ context.Context, c net.Conn) {
		if !first {
			var buf [512]byte
			if _, err := c.Read(buf[:]); err != nil {
				return
			}
		}
		_, _ = c.Write(b)
		drainBriefly(c)
	}
}

// HTTPResponse is what an HTTP server or proxy on port 445 answers to an SMB request.
const HTTPResponse = "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n" +
	"Content-Length: 11\r\nConnection: close\r\n\r\nBad Request"

// TLSServerHello is the start of a TLS 1.2 handshake record carrying a ServerHello (record
// type 0x16, version 3.3, then handshake type 2), followed by a fatal alert — what a TLS
// terminator on 445 sends when a non-TLS client connects.
var TLSServerHello = []byte{
	0x16, 0x03, 0x03, 0x00, 0x31, // handshake record, TLS 1.2, 49 bytes
	0x02, 0x00, 0x00, 0x2d, 0x03, 0x03, // ServerHello, 45 bytes, version 3.3
	0x5f, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8,
	0x09, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, // random
	0x00,       // no session id
	0xc0, 0x2f, // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	0x00,                                     // no compression
	0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00, // renegotiation_info
	0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32, // alert: fatal, decode_error
}

// Garbage answers the first request with n pseudo-random bytes from seed and closes. The first
// byte is forced to 0x47 so that the reply never frames as a NetBIOS session message; use
// FramedGarbage for garbage inside a well-formed frame.
func Garbage(seed uint64, n int) Handler {
	b := randomBytes(seed, n)
	if n > 0 {
		b[0] = 0x47
	}
	return Banner(b, false)
}

// FramedGarbage answers the first request with a correct NetBIOS session header followed by n
// pseudo-random bytes (which do not start with an SMB protocol id), then closes.
func FramedGarbage(seed uint64, n int) Handler {
	b := randomBytes(seed, n)
	if n > 0 {
		b[0] = 0x47
	}
	return Banner(append(netbios(n), b...), false)
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// NetBIOSLength answers the first request with a NetBIOS session header announcing n bytes
// (n up to 0xFFFFFF), then sends the follow bytes and closes. NetBIOSLength(0, nil) is an empty
// session message; NetBIOSLength(0xFFFFFF, nil) claims a 16 MiB frame; a short follow models a
// length larger than what follows.
func NetBIOSLength(n int, follow []byte) Handler {
	b := append(netbios(n), follow...)
	return Banner(b, false)
}

// ResetOnAccept resets every connection as soon as it is accepted (a middlebox that kills the
// flow after the handshake).
func ResetOnAccept() Handler {
	return func(_ context.Context, c net.Conn) { Reset(c) }
}

// ResetOnRequest resets every connection when its first bytes arrive.
func ResetOnRequest() Handler {
	return func(_ context.Context, c net.Conn) {
		var buf [512]byte
		_, _ = c.Read(buf[:])
		Reset(c)
	}
}

// drainBriefly reads what the client still sends for a moment before the handler returns and
// the connection is closed, so the close is a FIN rather than an RST caused by unread data.
func drainBriefly(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	var buf [512]byte
	for {
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
	}
}

// netbios returns a NetBIOS session message header announcing n bytes (24-bit length, as SMB2
// over direct TCP uses it).
func netbios(n int) []byte {
	return []byte{0, byte(n >> 16), byte(n >> 8), byte(n)}
}
