package dcerpc

import (
	"fmt"

	"github.com/smbsweep/smbsweep/wire"
)

// fragLenEnd is how much of a fragment FragmentLength needs: the common header up to and
// including frag_length.
const fragLenEnd = 10

// Write takes the next bytes of the reply to the call, as they come off a named pipe — the
// FSCTL_PIPE_TRANSCEIVE output, then each READ — in chunks of any size that need not follow
// fragment boundaries: a pipe is a byte stream, and a server that does not keep each fragment
// a message may cut a fragment between the IOCTL reply and the next READ. Write cuts the stream
// into fragments by frag_length and hands each whole one to Add's checks; a fragment that
// arrived whole inside p is used in place, the start of one whose end has not arrived is kept
// until a later Write completes it. That kept part is at most one fragment (frag_length has 16
// bits, and Validate caps it at MaxFragment) and grows only with the bytes received, never on
// the peer's frag_length alone. The stub stays within the limit given to Reset, as with Add.
//
// Write stops at the last fragment (or a FAULT, returned as a *FaultError): bytes after it are
// an error. It returns len(p) and nil unless it fails; after an error the position in the
// stream is lost and every later Write returns the same error. Done reports when the reply is
// complete; End says what is missing when the source of bytes has run dry. Write does not
// allocate, except to grow the buffer of a partial fragment, which a reused Reassembler keeps.
func (r *Reassembler) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n := 0
	for n < len(p) {
		if r.done {
			return n, r.fail(fmt.Errorf("response: %d bytes after the last fragment: %w", len(p)-n, wire.ErrMalformed))
		}
		rest := p[n:]
		if len(r.part) == 0 && len(rest) >= fragLenEnd {
			// p is at the start of a fragment: use it in place when it is all there.
			fl, err := FragmentLength(rest)
			if err != nil {
				return n, r.fail(fmt.Errorf("response: %w", err))
			}
			if fl <= len(rest) {
				_, _, err := r.add(rest[:fl])
				n += fl
				r.written += int64(fl)
				if err != nil {
					return n, r.fail(err)
				}
				continue
			}
		}
		// Keep the start of a fragment: its header up to frag_length, then up to frag_length.
		need := fragLenEnd
		if len(r.part) >= fragLenEnd {
			need = PDU(r.part).FragLength() // checked by FragmentLength when the header completed
		}
		k := min(need-len(r.part), len(rest))
		r.part = append(r.part, rest[:k]...)
		n += k
		r.written += int64(k)
		switch {
		case len(r.part) < need:
			// p is used up; the rest of the fragment comes with a later Write.
		case need == fragLenEnd:
			if _, err := FragmentLength(r.part); err != nil {
				return n, r.fail(fmt.Errorf("response: %w", err))
			}
		default:
			_, _, err := r.add(r.part)
			r.part = r.part[:0]
			if err != nil {
				return n, r.fail(err)
			}
		}
	}
	return n, nil
}

func (r *Reassembler) fail(err error) error {
	r.err = err
	return err
}

// Pending returns how many bytes of a fragment whose end has not arrived Write is holding.
func (r *Reassembler) Pending() int { return len(r.part) }

// Written returns how many bytes of the reply Write has taken since Reset.
func (r *Reassembler) Written() int64 { return r.written }

// End reports whether the reply written so far is complete, for a caller whose source has run
// dry (a pipe READ that returned no data, or STATUS_END_OF_FILE): nil after the last fragment,
// the error of a failed Write, or an error wrapping wire.ErrShort that says how far the reply
// got. It does not change r.
func (r *Reassembler) End() error {
	switch {
	case r.err != nil:
		return r.err
	case r.done:
		return nil
	case len(r.part) >= fragLenEnd:
		return fmt.Errorf("response: ended after %d bytes: %d fragments, then %d bytes of a %d-byte fragment: %w",
			r.written, r.frags, len(r.part), PDU(r.part).FragLength(), wire.ErrShort)
	case len(r.part) > 0:
		return fmt.Errorf("response: ended after %d bytes: %d fragments, then %d bytes of a fragment header: %w",
			r.written, r.frags, len(r.part), wire.ErrShort)
	}
	return fmt.Errorf("response: ended after %d bytes: %d fragments, none of them the last: %w", r.written, r.frags, wire.ErrShort)
}
