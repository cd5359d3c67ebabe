//go:build !linux && !darwin

package scanner

import "errors"

// RaiseOpenFileLimit is not available here: no limit is checked.
func RaiseOpenFileLimit(uint64) (soft, hard uint64, err error) {
	return 0, 0, errors.ErrUnsupported
}
