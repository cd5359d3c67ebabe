package daemon

import "github.com/smbsweep/smbsweep/internal/secretfile"

// SecretFileWarnings returns a warning for each secret file of the configuration (the API
// token file, the credentials' password files) that group or others may read, with the chmod
// that fixes it. Token files they may write are refused while loading (LoadTokenFile).
// serve logs these at every load and reload; config check prints them.
func (c *Config) SecretFileWarnings() []string {
	var out []string
	add := func(name string, kind secretfile.Kind) {
		if name == "" {
			return
		}
		if w, _ := secretfile.CheckPath(name, kind); w != "" {
			out = append(out, w)
		}
	}
	add(c.API.TokenFile, secretfile.Token)
	for _, cr := range c.Credentials {
		add(cr.PasswordFile, secretfile.Password)
	}
	return out
}
