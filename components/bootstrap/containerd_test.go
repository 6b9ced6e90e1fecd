package bootstrap

import (
	"regexp"
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
