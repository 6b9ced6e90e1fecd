package tests

import (
	"os"
	"os/exec"
	"testing"
)

// needTool returns the path of a program the test runs. Without it the test is skipped on a
// developer's machine and fails in CI (CI=true), where scripts/test.sh installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI: scripts/test.sh installs it", name)
	}
	t.Skipf("%s not installed (bash scripts/test.sh installs it)", name)
	return ""
}
