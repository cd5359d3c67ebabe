package wire

import "time"

// FILETIME (MS-DTYP 2.3.3) counts 100-nanosecond intervals since 1601-01-01 UTC.

// filetimeUnixOffset is the number of 100 ns intervals between 1601-01-01 and 1970-01-01.
const filetimeUnixOffset = 116444736000000000

// maxFiletime is the largest FILETIME that converts to a time.Time without overflow of
// UnixNano arithmetic (year 2262); larger values are treated as invalid.
const maxFiletime = filetimeUnixOffset + (1<<63-1)/100

// FiletimeToTime converts a FILETIME to UTC time. It returns ok=false for 0 (the protocol's
// "not set", never to be shown as 1601) and for values past what time.Time represents exactly.
// Integer arithmetic only: no precision is lost.
func FiletimeToTime(ft uint64) (t time.Time, ok bool) {
	if ft == 0 || ft > maxFiletime {
		return time.Time{}, false
	}
	d := int64(ft) - filetimeUnixOffset
	return time.Unix(d/10_000_000, (d%10_000_000)*100).UTC(), true
}

// TimeToFiletime converts t to a FILETIME; the zero time gives 0.
func TimeToFiletime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano()/100 + filetimeUnixOffset)
}
