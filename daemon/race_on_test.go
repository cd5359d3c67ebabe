//go:build race

package daemon

// raceEnabled: the race detector multiplies memory several times.
const raceEnabled = true
