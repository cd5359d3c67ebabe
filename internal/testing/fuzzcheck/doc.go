// Package fuzzcheck holds only a test: it fails when a package that decodes untrusted input has
// no Fuzz target with a committed seed corpus. See fuzzcheck_test.go and scripts/fuzz-all.sh.
package fuzzcheck
