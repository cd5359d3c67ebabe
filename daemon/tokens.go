package daemon

import "fmt"

// minTokenDistinct is the fewest different characters a bearer token may have: a token of one
// repeated character ("aaaaaaaaaaaaaaaa") or a short repeated pattern is guessed long before its
// length suggests. A random 16-character hex token has fewer than 6 different characters about
// once in 30 000; `openssl rand -hex 32` practically never.
const minTokenDistinct = 6

// checkToken refuses a bearer token that is too short or of too little variety. The error
// completes "the token ..." and says how to make a good one; it never quotes the token.
func checkToken(t string) error {
	if len(t) < minTokenLength {
		return fmt.Errorf("is %d characters; use at least %d (e.g. openssl rand -hex 32)", len(t), minTokenLength)
	}
	seen := make(map[rune]struct{}, minTokenDistinct)
	for _, r := range t {
		seen[r] = struct{}{}
	}
	if len(seen) < minTokenDistinct {
		kinds := "characters"
		if len(seen) == 1 {
			kinds = "character"
		}
		return fmt.Errorf("has only %d different %s (at least %d needed): it is guessable; use a random token, e.g. openssl rand -hex 32", len(seen), kinds, minTokenDistinct)
	}
	return nil
}
