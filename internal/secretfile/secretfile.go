// Package secretfile checks the permissions of files that hold secrets: the daemon's API
// token files and the password files of the CLI and of daemon credentials (issue 17). It is
// the one place that rule lives.
package secretfile

import (
	"fmt"
	"io/fs"
	"os"
)

// Kind is what a secret file holds; it decides how strict the check is.
type Kind int

const (
	// Password files are read for logons: others reading one is a warning.
	Password Kind = iota
	// Token files say who may use the API: others writing one could add their own token, so
	// that is refused; others reading one is a warning.
	Token
)

func (k Kind) String() string {
	if k == Token {
		return "token file"
	}
	return "password file"
}

// Check judges the permission bits of the secret file name (as the caller names it in
// messages). It returns an error for a token file that group or others may write, and a
// warning for a file that group or others may read; both name the file and give the chmod
// that fixes it. The rule is about Unix permission bits only: on systems without them (Windows
// reports 0666 or 0444) it is skipped.
func Check(name string, mode fs.FileMode, kind Kind) (warning string, err error) {
	if !hasUnixModes {
		return "", nil
	}
	perm := mode.Perm()
	if kind == Token && perm&0o022 != 0 {
		return "", fmt.Errorf("token file %s is writable by %s (mode %04o), so another user could add a token of their own: chmod 600 %s", name, who(perm, 0o020, 0o002), perm, name)
	}
	if perm&0o044 != 0 {
		return fmt.Sprintf("%s %s is readable by %s (mode %04o): chmod 600 %s", kind, name, who(perm, 0o040, 0o004), perm, name), nil
	}
	return "", nil
}

// CheckPath is Check on the file's current mode (following symbolic links, as reading it
// does). A file that cannot be examined yields neither warning nor error: reading it reports that.
func CheckPath(name string, kind Kind) (warning string, err error) {
	st, serr := os.Stat(name)
	if serr != nil {
		return "", nil
	}
	return Check(name, st.Mode(), kind)
}

// who names the classes of users a permission bit pair lets in.
func who(perm fs.FileMode, group, others fs.FileMode) string {
	switch {
	case perm&group != 0 && perm&others != 0:
		return "group and others"
	case perm&group != 0:
		return "its group"
	}
	return "others"
}
