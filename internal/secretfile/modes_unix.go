//go:build unix

package secretfile

const hasUnixModes = true
