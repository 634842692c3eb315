package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coopfed/coopfed/internal/loopback"
)

// target is the coopfed instance a scenario measures.
type target struct {
	URL      string // base URL, http://127.0.0.1:PORT
	Token    string // admin API token of Coop
	Coop     string
	PID      int  // server process, 0 when unknown (no RSS or CPU figures)
	External bool // not started by the tool (RSS peak is sampled, not VmHWM)
	// IdleRSS is read IdleWait after the start, before any load (0 when
	// PID is 0 or the server was not started by the tool).
	IdleRSS memInfo
	// Stop stops a server the tool started; nil otherwise.
	Stop func() error
}

// starter returns a fresh target for a scenario (a new server process, or
// the same running server for --target).
type starter func(ctx context.Context, scenario string) (*target, error)

// checkTargetURL accepts only http(s) URLs whose host is a loopback
// address or "localhost"; it returns the base URL without a trailing
// slash. The dialer (loopbackDialer) refuses anything else again.
func checkTargetURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("--target must be a base URL like http://127.0.0.1:8080, not %q", raw)
	}
	host := u.Hostname()
	if host != "localhost" {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Unmap().IsLoopback() {
			return "", fmt.Errorf("--target %s: only loopback addresses may be measured", raw)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// errNotLoopback is returned by the tool's dialer for any other address.
var errNotLoopback = errors.New("coopfed-load: refusing to connect to a non-loopback address")

// loopbackDialer dials only loopback addresses: the check runs on the
// address actually connected to, after name resolution.
func loopbackDialer() *net.Dialer {
	return &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !ip.Unmap().IsLoopback() {
				return fmt.Errorf("%w: %s", errNotLoopback, address)
			}
			return nil
		},
	}
}

// serverBinary returns the coopfed binary to start: the one given, a
// fresh build, or one next to this program.
func serverBinary(ctx context.Context, given string, build bool, dir string, logf func(string, ...any)) (string, error) {
	switch {
	case given != "" && build:
		return "", usageError{"give --server-bin or --build, not both"}
	case given != "":
		abs, err := filepath.Abs(given)
		if err != nil {
			return "", err
		}
		if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
			return "", usageError{fmt.Sprintf("--server-bin %s: not a file", given)}
		}
		return abs, nil
	case build:
		return buildServer(ctx, dir, logf)
	}
	exe, err := os.Executable()
	if err == nil {
		cand := filepath.Join(filepath.Dir(exe), "coopfed")
		if fi, err := os.Stat(cand); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return cand, nil
		}
	}
	return "", usageError{"no server binary: pass --build, --server-bin PATH, or --target URL"}
}

// buildServer builds ./cmd/coopfed of the enclosing module and copies the
// result, so the process maps a file written with write(2) like an
// installed binary: on this kernel a freshly linked file (written through
// mmap) is mapped in large folios and shows about 11 MB more RssFile (see
// TestServeIdleRSS in federation/bench_test.go).
func buildServer(ctx context.Context, dir string, logf func(string, ...any)) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("--build: run from inside the coopfed module (go env GOMOD: %q, %v)", gomod, err)
	}
	root := filepath.Dir(gomod)
	linked := filepath.Join(dir, "coopfed.linked")
	logf("building %s/cmd/coopfed (-tags sqlite_fts5)", root)
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "sqlite_fts5", "-o", linked, "./cmd/coopfed")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building coopfed: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "coopfed")
	if err := copyFile(linked, bin); err != nil {
		return "", err
	}
	os.Remove(linked)
	return bin, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// tokenPrefix introduces the token coopfed serve prints on first start.
const tokenPrefix = "Admin API token (shown once, keep it safe): "

// processStarter starts a fresh `coopfed serve` for each scenario, on its
// own database under dir.
func processStarter(bin, dir string, cfg config, workers int, logf func(string, ...any)) starter {
	return func(ctx context.Context, scenario string) (*target, error) {
		sdir := filepath.Join(dir, scenario)
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return nil, err
		}
		t, err := startServer(ctx, bin, sdir, cfg.Coop, workers, cfg.ServerInboxRate, cfg.ServerProfileDir)
		if err != nil {
			return nil, err
		}
		logf("%s: server pid %d at %s (log %s)", scenario, t.PID, t.URL, filepath.Join(sdir, "server.log"))
		if cfg.IdleWait > 0 {
			select {
			case <-time.After(cfg.IdleWait):
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
		if m, err := readMem(t.PID); err == nil {
			t.IdleRSS = m
		}
		return t, nil
	}
}

// startServer runs `coopfed serve` on a fresh database and waits until it
// prints that it serves; the token comes from its first-start message.
func startServer(ctx context.Context, bin, dir, coop string, workers, inboxRate int, cpuProfile string) (*target, error) {
	// Why a reservation: the server listens only after opening its
	// database, and meanwhile a free port could become the local end of
	// some other connection on the machine.
	addr, release, err := loopback.ReserveFree()
	if err != nil {
		return nil, err
	}
	defer release()
	args := []string{"serve", "--allow-private-network", "--addr", addr, "--url", "http://" + addr,
		"--db", filepath.Join(dir, "load.db"), "--coop", coop, "--inbox-rate", strconv.Itoa(inboxRate), "--log-level", "warn",
		// Nothing is in flight when a scenario ends, and a shutdown may
		// last its whole timeout: Federation.Stop waits for the periodic
		// jobs, whose context app cancels only after Stop returns.
		"--shutdown-timeout", "5"}
	if workers > 0 {
		args = append(args, "--workers", strconv.Itoa(workers))
	}
	if cpuProfile != "" {
		args = append(args, "--cpuprofile", filepath.Join(cpuProfile, filepath.Base(dir)+".prof"))
	}
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// Why: COOPFED_* variables of the caller's shell (a metrics token, a
	// follow list) would change what is measured.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COOPFED_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		// Lines until the serving message go to the channel; the rest of
		// stdout (nothing, normally) to the log, so the pipe never fills.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
			if strings.HasPrefix(sc.Text(), "coopfed is serving") {
				break
			}
		}
		close(lines)
		io.Copy(logFile, stdout)
		exited <- cmd.Wait()
		logFile.Close()
	}()
	var stopOnce sync.Once
	var stopErr error
	stop := func() error {
		stopOnce.Do(func() {
			select {
			case err := <-exited:
				stopErr = fmt.Errorf("server had already exited: %v", err)
				return
			default:
			}
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case stopErr = <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-exited
				stopErr = errors.New("server did not stop within 30s of SIGTERM; killed")
			}
		})
		return stopErr
	}
	t := &target{URL: "http://" + addr, Coop: coop, PID: cmd.Process.Pid, Stop: stop}
	deadline := time.After(30 * time.Second)
	for range 10000 { // lines; the serving message is the third
		select {
		case line, ok := <-lines:
			if !ok {
				stop()
				return nil, fmt.Errorf("server exited before serving; see %s:\n%s", logFile.Name(), tail(logFile.Name(), 2000))
			}
			if tok, found := strings.CutPrefix(line, tokenPrefix); found {
				t.Token = strings.TrimSpace(tok)
			}
			if strings.HasPrefix(line, "coopfed is serving") {
				if t.Token == "" {
					stop()
					return nil, fmt.Errorf("server printed no admin token (database not fresh?)")
				}
				return t, nil
			}
		case <-deadline:
			stop()
			return nil, fmt.Errorf("server not serving after 30s; see %s", logFile.Name())
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		}
	}
	stop()
	return nil, errors.New("server printed too much before serving")
}

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

// memInfo is a process's memory as /proc/PID/status reports it, in KiB.
type memInfo struct {
	RSS, HWM, Anon, File int64
}

// readMem reads VmRSS, VmHWM, RssAnon and RssFile of a process.
func readMem(pid int) (memInfo, error) {
	var m memInfo
	if pid <= 0 {
		return m, errors.New("no pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = n
		case "VmHWM":
			m.HWM = n
		case "RssAnon":
			m.Anon = n
		case "RssFile":
			m.File = n
		}
	}
	return m, nil
}

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTick = 100

// processCPU returns the CPU time (user + system, all threads) a process
// has used, from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; fields restart after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// After ')': state is field 3 of stat(5); utime is 14, stime 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc stat times")
	}
	return time.Duration(ut+st) * time.Second / clockTick, nil
}

// selfCPU returns this process's CPU time (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage returns the 1-minute load average, or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
