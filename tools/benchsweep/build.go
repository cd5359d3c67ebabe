package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The measured binary is the real cmd/smbsweep built with one addition, through `go build
// -overlay` (the source tree is not touched): main reports the Go allocation counters at exit
// and can write CPU and allocation profiles, when the environment asks for them.
const (
	envStats      = "SMBSWEEP_BENCH_STATS"
	envCPUProfile = "SMBSWEEP_BENCH_CPUPROFILE"
	envMemProfile = "SMBSWEEP_BENCH_MEMPROFILE"
	envHeapAt     = "SMBSWEEP_BENCH_HEAP_AT" // duration: also write a heap profile (in use) then
)

const hookSource = `package main

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

var benchCPUFile *os.File

func benchStart() {
	if d, err := time.ParseDuration(os.Getenv("` + envHeapAt + `")); err == nil {
		if p := os.Getenv("` + envMemProfile + `"); p != "" {
			time.AfterFunc(d, func() {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if f, err := os.Create(p + ".memstats.json"); err == nil {
					_ = json.NewEncoder(f).Encode(map[string]uint64{
						"heap_inuse": ms.HeapInuse, "heap_sys": ms.HeapSys, "heap_alloc": ms.HeapAlloc,
						"stack_inuse": ms.StackInuse, "stack_sys": ms.StackSys, "sys": ms.Sys,
						"goroutines": uint64(runtime.NumGoroutine()),
					})
					f.Close()
				}
				if f, err := os.Create(p + ".heap"); err == nil {
					runtime.GC()
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			})
		}
	}
	if p := os.Getenv("` + envCPUProfile + `"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			benchCPUFile = f
		}
	}
}

func benchStop() {
	if benchCPUFile != nil {
		pprof.StopCPUProfile()
		benchCPUFile.Close()
	}
	if p := os.Getenv("` + envMemProfile + `"); p != "" {
		if f, err := os.Create(p); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	if p := os.Getenv("` + envStats + `"); p != "" {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if f, err := os.Create(p); err == nil {
			_ = json.NewEncoder(f).Encode(map[string]uint64{
				"mallocs": ms.Mallocs, "total_alloc": ms.TotalAlloc, "num_gc": uint64(ms.NumGC),
				"heap_sys": ms.HeapSys, "stack_sys": ms.StackSys, "sys": ms.Sys,
			})
			f.Close()
		}
	}
}
`

const mainCall = "os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))"

// buildSmbsweep builds cmd/smbsweep from the module at root into dir and returns the binary's
// path and whether the allocation hook is in it.
//
// replace maps repository paths to files that stand in for them in this build only (what-if
// experiments on code the benchmark does not own, e.g. -replace transport/conn.go=/tmp/conn.go).
func buildSmbsweep(root, dir string, replace map[string]string) (string, bool, error) {
	bin := filepath.Join(dir, "smbsweep")
	mainPath := filepath.Join(root, "cmd", "smbsweep", "main.go")
	src, err := os.ReadFile(mainPath)
	if err != nil {
		return "", false, err
	}
	hooked := strings.Count(string(src), mainCall) == 1
	args := []string{"build", "-trimpath", "-o", bin}
	if hooked {
		patched := strings.Replace(string(src), mainCall,
			"benchStart()\n\tcode := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)\n\tbenchStop()\n\tos.Exit(code)", 1)
		mainCopy, hookPath := filepath.Join(dir, "main.go"), filepath.Join(dir, "benchhook.go")
		if err := os.WriteFile(mainCopy, []byte(patched), 0o644); err != nil {
			return "", false, err
		}
		if err := os.WriteFile(hookPath, []byte(hookSource), 0o644); err != nil {
			return "", false, err
		}
		rep := map[string]string{
			mainPath: mainCopy,
			filepath.Join(root, "cmd", "smbsweep", "zz_benchhook.go"): hookPath,
		}
		for from, to := range replace {
			abs, err := filepath.Abs(to)
			if err != nil {
				return "", false, err
			}
			rep[filepath.Join(root, filepath.FromSlash(from))] = abs
		}
		ov, _ := json.Marshal(map[string]map[string]string{"Replace": rep})
		ovPath := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
			return "", false, err
		}
		args = append(args, "-overlay", ovPath)
	}
	cmd := exec.Command("go", append(args, "./cmd/smbsweep")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", false, fmt.Errorf("go build ./cmd/smbsweep: %v\n%s", err, out)
	}
	return bin, hooked, nil
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run the benchmark inside the smbsweep module")
	}
	return filepath.Dir(mod), nil
}
