// Package netns holds what the test labs share about the network namespaces they make: each lab
// names its namespaces with a prefix of its own followed by the PID of the creating process, so
// that namespaces a killed test binary left behind can be found and removed.
package netns

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Sweep removes, with del, the namespaces under /run/netns whose names start with prefix and
// whose creating process (the PID right after the prefix) no longer exists. Their daemons died
// with that process (Pdeathsig); namespaces of this process and of live ones are left alone.
func Sweep(ctx context.Context, prefix string, del func(ctx context.Context, name string) error) error {
	entries, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		if err := del(ctx, e.Name()); err != nil {
			return err
		}
	}
	return nil
}
