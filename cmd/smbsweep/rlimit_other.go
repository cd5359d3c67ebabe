//go:build !linux && !darwin

package main

import "errors"

// raiseOpenFileLimit is not available here: no limit is checked.
func raiseOpenFileLimit(uint64) (soft, hard uint64, err error) {
	return 0, 0, errors.ErrUnsupported
}
