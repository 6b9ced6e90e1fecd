package realkube

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// UpgradeTimeout bounds one kubeadm upgrade run: plan's health check alone waits up to a minute
// for its Job (createJob in cmd/kubeadm/app/phases/upgrade/health.go, v1.37.2).
const UpgradeTimeout = 3 * time.Minute

// heartbeat is how often the controller's kubelet, as played here, renews its Lease and posts its
// status: the kubelet's defaults (nodeStatusUpdateFrequency 10s, the Lease renewed every 10s)
// halved, so that the node lifecycle controller never finds the Node stale.
const heartbeat = 5 * time.Second

// Controller is the controller machine around the control plane, as kubeadm upgrade sees it:
// /etc/kubernetes with the kubeconfigs and static Pod manifests kubeadm wrote, /var/lib/kubelet
// with the kubelet files kubeadm's kubelet-start phase writes, and in the API the objects the
// controller's kubelet would make: its Node, Ready at the kubelet's version, its Lease, the
// mirror Pods of the static Pods, and the run of a Pod the scheduler binds to it. No kubelet runs;
// Controller writes what one would, and nothing else.
type Controller struct {
	cp *ControlPlane
	// Node is the controller's node name, the one of kubelet.conf's client certificate
	// (system:node:NAME), which kubeadm upgrade reads to find its Node (GetNodeName in
	// cmd/kubeadm/app/util/config/cluster.go).
	Node string
	// KubeletDir holds what kubeadm init phase kubelet-start wrote: config.yaml,
	// kubeadm-flags.env and instance-config.yaml, which holds the CRI socket kubeadm upgrade reads
	// (GetNodeRegistration, same file; without it kubeadm warns and probes for a runtime).
	KubeletDir string
	stop       chan struct{}
	done       chan struct{}
	mu         sync.Mutex
	err        error
}

// kubeletVersion is what the controller's kubelet reports: the tools' version.
const kubeletVersion = "v1.37.2"

// StartController makes the controller machine for node from config (the kubeadm file the control
// plane's files were generated from): it runs kubeadm init phase kubelet-start (dry run, into a
// scratch directory: it writes the kubelet's files and starts nothing), registers the Node as the
// kubelet does, runs kubeadm init phase mark-control-plane on it as kubeadm init does, creates the
// mirror Pods of the four static Pods, and keeps the Node's heartbeat until the test ends.
func (cp *ControlPlane) StartController(t testing.TB, node, config string) *Controller {
	t.Helper()
	c := &Controller{cp: cp, Node: node, KubeletDir: filepath.Join(cp.Dir, "var-lib-kubelet"), stop: make(chan struct{}), done: make(chan struct{})}
	if err := os.MkdirAll(c.KubeletDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := cp.Tools.Command("kubeadm", "init", "phase", "kubelet-start", "--config", config, "--dry-run")
	cmd.Env = append(os.Environ(), "KUBEADM_INIT_DRYRUN_DIR="+c.KubeletDir)
	if r := Run(cmd, KubeadmTimeout); r.Err != nil {
		t.Fatalf("%s", r)
	}
	// A kubelet registers its Node with these labels (kubelet_node_status.go, initialNode).
	nodeObj := corev1.Node{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: node, Labels: map[string]string{"kubernetes.io/hostname": node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}},
	}
	c.apply(t, "create", nodeObj)
	c.postStatus(time.Now())
	if r := cp.KubeadmWithEtcKubernetes("init", "phase", "mark-control-plane", "--config", config); r.Err != nil {
		t.Fatalf("%s", r)
	}
	uid := strings.TrimSpace(c.kubectl(t, "get", "node", node, "-o", "jsonpath={.metadata.uid}"))
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		c.apply(t, "create", c.mirrorPod(name, uid))
	}
	go c.run()
	t.Cleanup(func() {
		close(c.stop)
		select {
		case <-c.done:
		case <-time.After(KubectlTimeout + heartbeat):
			t.Errorf("the kubelet heartbeat of %s did not stop", node)
		}
		if err := c.Err(); err != nil {
			t.Errorf("kubelet heartbeat of %s: %v", node, err)
		}
	})
	return c
}

// mirrorPod is the mirror Pod a kubelet creates in the API for a static Pod of the manifest
// directory (kubelet/pod/mirror_client.go): the manifest's Pod named NAME-NODE, bound to the
// node, owned by the Node, with the config annotations the kubelet adds
// (kubelet/types/pod_update.go: kubernetes.io/config.mirror, config.hash, config.source=file,
// config.seen). kubeadm upgrade reads these objects: the image tags per component
// (ComponentVersions in cmd/kubeadm/app/phases/upgrade/versiongetter.go) and the API server's
// advertise-address annotation (getAPIEndpointFromPodAnnotation in util/config/cluster.go).
func (c *Controller) mirrorPod(name, nodeUID string) *corev1.Pod {
	pod := c.cp.Manifests[name].DeepCopy()
	pod.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	pod.Name = name + "-" + c.Node
	pod.Spec.NodeName = c.Node
	hash := fmt.Sprintf("%x", len(pod.Spec.Containers[0].Command))
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	for k, v := range map[string]string{"kubernetes.io/config.mirror": hash, "kubernetes.io/config.hash": hash,
		"kubernetes.io/config.source": "file", "kubernetes.io/config.seen": time.Now().UTC().Format(time.RFC3339Nano)} {
		pod.Annotations[k] = v
	}
	controller := true
	pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: c.Node, UID: types.UID(nodeUID), Controller: &controller}}
	return pod
}

// Err returns the first error of the heartbeat.
func (c *Controller) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// run is the kubelet's loop: heartbeat, and the Pods bound to the node run to completion.
func (c *Controller) run() {
	defer close(c.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-c.stop:
			return
		case now := <-tick.C:
			if now.Sub(last) >= heartbeat {
				c.fail(c.postStatus(now))
				last = now
			}
			c.fail(c.runJobPods(now))
		}
	}
}

func (c *Controller) fail(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// postStatus is the kubelet's heartbeat: the Node's Ready condition and node info (the kubelet's
// version, which kubeadm upgrade reads: KubeletVersions in versiongetter.go), and its Lease in
// kube-node-lease, which the node lifecycle controller watches.
func (c *Controller) postStatus(now time.Time) error {
	at := now.UTC().Format(time.RFC3339)
	status := map[string]any{"status": map[string]any{
		"conditions": []map[string]any{{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
			"lastHeartbeatTime": at, "lastTransitionTime": at}},
		"nodeInfo": map[string]any{"kubeletVersion": kubeletVersion, "containerRuntimeVersion": "containerd://2.2.1", "operatingSystem": "linux", "architecture": "amd64",
			"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "", "osImage": "", "kubeProxyVersion": ""},
	}}
	patch, _ := json.Marshal(status)
	if r := c.cp.Kubectl(c.cp.Admin, "patch", "node", c.Node, "--subresource=status", "--type=merge", "-p", string(patch)); r.Err != nil {
		return fmt.Errorf("%s", r)
	}
	lease := map[string]any{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
		"metadata": map[string]any{"name": c.Node, "namespace": "kube-node-lease"},
		"spec":     map[string]any{"holderIdentity": c.Node, "leaseDurationSeconds": 40, "renewTime": now.UTC().Format("2006-01-02T15:04:05.000000Z07:00")}}
	b, _ := json.Marshal(lease)
	if r := c.cp.KubectlStdin(c.cp.Admin, string(b), "apply", "-f", "-"); r.Err != nil {
		return fmt.Errorf("%s", r)
	}
	return nil
}

// runJobPods plays the scheduler and the kubelet for the Pods of Jobs in kube-system (kubeadm
// upgrade's CreateJob health check, createJob in health.go: a Job running the pause image, which
// tolerates the control-plane taint, must complete within a minute): a pending Pod is bound to
// the node (the scheduler's Binding) and its status set as a kubelet reports a container that
// exited 0 (phase Succeeded, the container terminated with reason Completed). The Job controller
// of the running kube-controller-manager then marks the Job complete.
func (c *Controller) runJobPods(now time.Time) error {
	r := c.cp.Kubectl(c.cp.Admin, "-n", "kube-system", "get", "pods", "-l", "batch.kubernetes.io/job-name", "-o", "json")
	if r.Err != nil {
		return fmt.Errorf("%s", r)
	}
	var pods corev1.PodList
	if err := json.Unmarshal([]byte(r.Stdout), &pods); err != nil {
		return err
	}
	at := now.UTC().Format(time.RFC3339)
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodPending || p.DeletionTimestamp != nil {
			continue
		}
		if p.Spec.NodeName == "" {
			binding, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Binding", "metadata": map[string]any{"name": p.Name},
				"target": map[string]any{"apiVersion": "v1", "kind": "Node", "name": c.Node}})
			if r := c.cp.KubectlStdin(c.cp.Admin, string(binding), "create", "--raw", "/api/v1/namespaces/kube-system/pods/"+p.Name+"/binding", "-f", "-"); r.Err != nil {
				return fmt.Errorf("%s", r)
			}
		}
		var containers []map[string]any
		for _, ct := range p.Spec.Containers {
			containers = append(containers, map[string]any{"name": ct.Name, "image": ct.Image, "imageID": "", "ready": false, "restartCount": 0,
				"state": map[string]any{"terminated": map[string]any{"exitCode": 0, "reason": "Completed", "startedAt": at, "finishedAt": at}}})
		}
		status, _ := json.Marshal(map[string]any{"status": map[string]any{"phase": "Succeeded", "startTime": at,
			"conditions":        []map[string]any{{"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": at}},
			"containerStatuses": containers}})
		if r := c.cp.Kubectl(c.cp.Admin, "-n", "kube-system", "patch", "pod", p.Name, "--subresource=status", "--type=merge", "-p", string(status)); r.Err != nil {
			return fmt.Errorf("%s", r)
		}
	}
	return nil
}

// apply sends an object to the API server with kubectl VERB -f -.
func (c *Controller) apply(t testing.TB, verb string, obj any) {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.cp.KubectlStdin(c.cp.Admin, string(b), verb, "-f", "-"); r.Err != nil {
		t.Fatalf("%s", r)
	}
}

func (c *Controller) kubectl(t testing.TB, args ...string) string {
	t.Helper()
	r := c.cp.Kubectl(c.cp.Admin, args...)
	if r.Err != nil {
		t.Fatalf("%s", r)
	}
	return r.Stdout
}

// Kubeadm runs kubeadm with args on the controller machine, within UpgradeTimeout, inside the
// control plane's namespace: in the command's own mount namespace (ip netns exec makes one) an
// overlay over /etc adds kubernetes/ holding the kubeconfigs (admin.conf, super-admin.conf,
// kubelet.conf, controller-manager.conf, scheduler.conf) and manifests/ holding the static Pod
// manifests, and one over /var adds lib/kubelet holding KubeletDir's files: the paths kubeadm
// upgrade reads without a flag (constants.KubernetesDir, KubeletRunDirectory). What kubeadm
// writes there lands in the scratch directory. env is added to kubeadm's environment.
func (c *Controller) Kubeadm(env []string, args ...string) Result {
	overlay := filepath.Join(c.cp.Dir, "controller-"+fmt.Sprint(time.Now().UnixNano()))
	etc, varDir := filepath.Join(overlay, "etc"), filepath.Join(overlay, "var")
	copies := map[string]string{}
	for _, conf := range []string{"admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"} {
		copies[filepath.Join(etc, "upper/kubernetes", conf)] = filepath.Join(c.cp.KubeconfigDir, conf)
	}
	for name := range c.cp.Manifests {
		copies[filepath.Join(etc, "upper/kubernetes/manifests", name+".yaml")] = filepath.Join(c.cp.ManifestDir, name+".yaml")
	}
	entries, err := os.ReadDir(c.KubeletDir)
	if err != nil {
		return Result{Err: err}
	}
	for _, e := range entries {
		copies[filepath.Join(varDir, "upper/lib/kubelet", e.Name())] = filepath.Join(c.KubeletDir, e.Name())
	}
	for _, d := range []string{filepath.Join(etc, "work"), filepath.Join(varDir, "work")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return Result{Err: err}
		}
	}
	for dst, src := range copies {
		b, err := os.ReadFile(src)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(dst), 0o700)
		}
		if err == nil {
			err = os.WriteFile(dst, b, 0o600)
		}
		if err != nil {
			return Result{Err: err}
		}
	}
	script := `mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc &&
mount -t overlay overlay -o "lowerdir=/var,upperdir=$2/upper,workdir=$2/work" /var || exit; shift 2; exec "$@"`
	envPath, err := exec.LookPath("env")
	if err != nil {
		return Result{Err: err}
	}
	cmd := c.cp.Netns.Command("/bin/sh", append([]string{"-c", script, "sh", etc, varDir, envPath}, append(env, append([]string{c.cp.Tools.Path("kubeadm")}, args...)...)...)...)
	return Run(cmd, UpgradeTimeout)
}
