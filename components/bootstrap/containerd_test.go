package bootstrap

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// pauseImage is kubeadm v1.37.2's pause image: constants.PauseVersion "3.10.2" in
// cmd/kubeadm/app/constants/constants.go, from registry.k8s.io (`kubeadm config images list`
// prints registry.k8s.io/pause:3.10.2).
const pauseImage = "registry.k8s.io/pause:3.10.2"

// TestContainerdSandboxImage: containerd 2's CRI plugin takes its sandbox image from
// [plugins.'io.containerd.cri.v1.images'.pinned_images] sandbox; it must be kubeadm's.
func TestContainerdSandboxImage(t *testing.T) {
	re := regexp.MustCompile(`(?ms)^\[plugins\.'io\.containerd\.cri\.v1\.images'\.pinned_images\]\n\s*sandbox = '([^']*)'`)
	m := re.FindStringSubmatch(containerdConfig)
	if m == nil {
		t.Fatalf("no sandbox image under pinned_images in:\n%s", containerdConfig)
	}
	if m[1] != pauseImage {
		t.Errorf("sandbox image %s, want %s", m[1], pauseImage)
	}
}

// TestRenderPrepareContainerdMinor: the pin is the glob MINOR.*, so the minor must be MAJOR.MINOR;
// an empty one would pin every version ("Pin: version .*" matches none, and apt takes the newest).
func TestRenderPrepareContainerdMinor(t *testing.T) {
	for _, c := range []struct {
		minor string
		ok    bool
	}{
		{ContainerdMinor, true}, {"10.0", true},
		{"", false}, {"2", false}, {"2.2.1", false}, {"2.x", false}, {"2.2 ", false}, {"2.2\nPin-Priority: 1", false},
	} {
		t.Run(strconv.Quote(c.minor), func(t *testing.T) {
			d := PrepareData{Node: testWorker, Version: testVersion, Minor: minor(testVersion), PackageVersion: packageVersion(testVersion), ContainerdMinor: c.minor}
			out, err := RenderPrepare(d)
			switch {
			case c.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case c.ok && !strings.Contains(out, "\nPin: version "+c.minor+".*\n"):
				t.Errorf("the script does not pin %s.*", c.minor)
			case !c.ok && err == nil:
				t.Errorf("rendered a script with containerd minor %q", c.minor)
			case !c.ok && !strings.Contains(err.Error(), strconv.Quote(c.minor)):
				t.Errorf("the error does not name the value %q: %v", c.minor, err)
			}
		})
	}
}
