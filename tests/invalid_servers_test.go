package tests

import (
	"crypto/ed25519"
	"encoding/pem"
	"reflect"
	"sort"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/metalk8s/metalk8s/config"
)

// serversCase is one invalid configuration of the servers mode: an example stack of the mode
// (Pulumi.racks.yaml or Pulumi.provider.yaml) with edits.
type serversCase struct {
	// name describes the case.
	name string
	// stack is the example stack the edits start from: racks or provider.
	stack string
	// edits change the stack's metalk8s:cluster object (see set).
	edits []edit
	// keys are every key the error names, exactly (as many times as it names each), relative to
	// metalk8s:cluster.
	keys []string
	// says, when set, is a text every problem's detail must hold (such as the word servers in
	// the refusal of an Equinix Metal key).
	says string
	// secret, when set, is a value the error must never show; every problem then shows the
	// value [secret].
	secret string
}

// haServer is a server of the ha stack's rack: reached and peering on its private address.
func haServer(name, addr string) map[string]any {
	return map[string]any{"name": name, "sshAddress": addr, "privateIpv4": addr}
}

// serversPool is a LoadBalancer pool of private ranges.
func serversPool(name string, cidrs ...any) map[string]any {
	return map[string]any{"name": name, "cidrs": cidrs}
}

// passphraseKey is an OpenSSH private key protected by a passphrase, made for this test.
func passphraseKey(t testing.TB) string {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "metalk8s-test", []byte("a passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

// invalidServersCases are invalid configurations of the servers mode. In the racks stack the
// controller (10.10.1.10) and workers[0] (10.10.1.11) peer with the shared routers 10.10.1.2 and
// 10.10.1.3, workers[1] (10.10.2.10) and workers[2] (10.10.2.11) with their own 10.10.2.2 and
// 10.10.2.3; its pools are 203.0.113.0/28 and 10.10.100.0/24. In the provider stack the controller
// (10.40.0.11, public 203.0.113.11) and two workers (.12, .13) reach the multihop route servers
// 169.254.1.1 and 169.254.1.2 through the gateway 10.40.0.1; the API server is allow-listed.
func invalidServersCases(t testing.TB) []serversCase {
	const md5Space, md5Quote, md5Backslash = "Shared Secret1", `Shared"Secret1`, `Shared\Secret1`
	md5Long := strings.Repeat("Ab1", 27) // 81 bytes: Linux takes TCP MD5 keys of at most 80
	badKey := "not-a-key-hunter2"
	return []serversCase{
		// The API server cannot take the port the controller's sshd listens on.
		{name: "API port is the controller's SSH port", stack: "racks", edits: []edit{{"servers.controller.sshPort", 2222}, {"kubernetes.apiPort", 2222}}, keys: []string{"kubernetes.apiPort"}},
		// Names.
		{name: "two workers with one name", stack: "racks", edits: []edit{{"servers.workers[1].name", "r1-worker-0"}}, keys: []string{"servers.workers[1].name"}},
		{name: "a worker named as the controller", stack: "provider", edits: []edit{{"servers.workers[1].name", "bm-controller"}}, keys: []string{"servers.workers[1].name"}},
		{name: "name not a node name", stack: "racks", edits: []edit{{"servers.controller.name", "R1_Controller"}}, keys: []string{"servers.controller.name"}},
		{name: "name of 64 characters", stack: "racks", edits: []edit{{"servers.workers[0].name", strings.Repeat("w", 64)}}, keys: []string{"servers.workers[0].name"}},
		{name: "two servers with one id", stack: "racks", edits: []edit{{"servers.workers[2].id", "SN-R1-0002"}}, keys: []string{"servers.workers[2].id"}},
		{name: "id with a trailing space", stack: "racks", edits: []edit{{"servers.workers[0].id", "SN-R1-0002 "}}, keys: []string{"servers.workers[0].id"}},
		// Addresses the servers own.
		{name: "two servers with one private address", stack: "racks", edits: []edit{{"servers.workers[2].privateIpv4", "10.10.1.11"}}, keys: []string{"servers.workers[2].privateIpv4"}},
		{name: "two servers with one public address", stack: "provider", edits: []edit{{"servers.workers[1].publicIpv4", "203.0.113.12"}}, keys: []string{"servers.workers[1].publicIpv4"}},
		{name: "public address is the server's private one", stack: "provider", edits: []edit{{"servers.controller.publicIpv4", "10.40.0.11"}}, keys: []string{"servers.controller.publicIpv4"}},
		{name: "public address is another server's private one", stack: "provider", edits: []edit{{"servers.workers[1].publicIpv4", "10.40.0.12"}}, keys: []string{"servers.workers[1].publicIpv4"}},
		{name: "privateIpv4 missing", stack: "racks", edits: []edit{{"servers.workers[0].privateIpv4", nil}}, keys: []string{"servers.workers[0].privateIpv4"}},
		{name: "privateIpv4 of three bytes", stack: "racks", edits: []edit{{"servers.workers[0].privateIpv4", "10.10.1"}}, keys: []string{"servers.workers[0].privateIpv4"}},
		{name: "privateIpv4 IPv6", stack: "racks", edits: []edit{{"servers.workers[0].privateIpv4", "fd00::11"}}, keys: []string{"servers.workers[0].privateIpv4"}},
		{name: "privateIpv4 with a prefix length", stack: "racks", edits: []edit{{"servers.workers[0].privateIpv4", "10.10.1.11/24"}}, keys: []string{"servers.workers[0].privateIpv4"}},
		{name: "privateIpv4 loopback", stack: "racks", edits: []edit{{"servers.controller.privateIpv4", "127.0.0.1"}}, keys: []string{"servers.controller.privateIpv4"}},
		{name: "privateIpv4 multicast", stack: "racks", edits: []edit{{"servers.controller.privateIpv4", "224.0.0.5"}}, keys: []string{"servers.controller.privateIpv4"}},
		{name: "privateIpv4 unspecified", stack: "racks", edits: []edit{{"servers.controller.privateIpv4", "0.0.0.0"}}, keys: []string{"servers.controller.privateIpv4"}},
		{name: "publicIpv4 broadcast", stack: "provider", edits: []edit{{"servers.workers[0].publicIpv4", "255.255.255.255"}}, keys: []string{"servers.workers[0].publicIpv4"}},
		// SSH targets.
		{name: "two servers behind one address and port", stack: "racks", edits: []edit{{"servers.workers[0].sshAddress", "10.10.1.10"}}, keys: []string{"servers.workers[0].sshAddress"}},
		// sshPort 0 is the default 22 (applyDefaults): it is the controller's port 22.
		{name: "sshPort 0 is port 22 of the same address", stack: "racks", edits: []edit{{"servers.controller.sshPort", 22}, {"servers.workers[0].sshAddress", "10.10.1.10"}, {"servers.workers[0].sshPort", 0}}, keys: []string{"servers.workers[0].sshAddress"}},
		{name: "sshAddress missing", stack: "racks", edits: []edit{{"servers.workers[1].sshAddress", nil}}, keys: []string{"servers.workers[1].sshAddress"}},
		{name: "sshAddress with a port", stack: "racks", edits: []edit{{"servers.workers[1].sshAddress", "10.10.2.10:22"}}, keys: []string{"servers.workers[1].sshAddress"}},
		{name: "sshAddress with a space", stack: "racks", edits: []edit{{"servers.workers[1].sshAddress", "r2 worker 0"}}, keys: []string{"servers.workers[1].sshAddress"}},
		{name: "sshAddress an IPv4 address out of range", stack: "racks", edits: []edit{{"servers.workers[1].sshAddress", "10.10.2.300"}}, keys: []string{"servers.workers[1].sshAddress"}},
		{name: "sshPort 70000", stack: "racks", edits: []edit{{"servers.workers[2].sshPort", 70000}}, keys: []string{"servers.workers[2].sshPort"}},
		{name: "sshPort negative", stack: "racks", edits: []edit{{"servers.controller.sshPort", -22}}, keys: []string{"servers.controller.sshPort"}},
		{name: "sshPort a string", stack: "racks", edits: []edit{{"servers.controller.sshPort", "22"}}, keys: []string{"servers.controller.sshPort"}},
		// BGP peers.
		{name: "peer is the server itself", stack: "racks", edits: []edit{{"servers.workers[1].peers[0].address", "10.10.2.10"}}, keys: []string{"servers.workers[1].peers[0].address"}},
		{name: "peer is another server", stack: "racks", edits: []edit{{"servers.workers[2].peers[1].address", "10.10.1.10"}}, keys: []string{"servers.workers[2].peers[1].address"}},
		{name: "peer is another server's public address", stack: "provider", edits: []edit{{"servers.workers[0].peers", []any{map[string]any{"address": "203.0.113.11", "asn": 65100}}}}, keys: []string{"servers.workers[0].peers[0].address"}},
		// A shared peer is checked for each server that takes it: the controller sees another
		// server's address, workers[0] its own.
		{name: "shared peer is a server", stack: "racks", edits: []edit{{"servers.peers[1].address", "10.10.1.11"}}, keys: []string{"servers.peers[1].address", "servers.peers[1].address"}},
		{name: "peer listed twice", stack: "racks", edits: []edit{{"servers.workers[1].peers[1].address", "10.10.2.2"}}, keys: []string{"servers.workers[1].peers[1].address"}},
		{name: "shared peer listed twice", stack: "racks", edits: []edit{{"servers.peers[1].address", "10.10.1.2"}}, keys: []string{"servers.peers[1].address"}},
		{name: "peer address a name", stack: "racks", edits: []edit{{"servers.peers[0].address", "tor-1"}}, keys: []string{"servers.peers[0].address"}},
		{name: "peer address loopback", stack: "racks", edits: []edit{{"servers.workers[2].peers[0].address", "127.0.0.1"}}, keys: []string{"servers.workers[2].peers[0].address"}},
		{name: "no peers anywhere", stack: "racks", edits: []edit{{"servers.peers", nil}}, keys: []string{"servers.controller.peers", "servers.workers[0].peers"}},
		{name: "an empty list of own peers", stack: "racks", edits: []edit{{"servers.workers[1].peers", []any{}}}, keys: []string{"servers.workers[1].peers"}},
		{name: "peer ASN 0", stack: "racks", edits: []edit{{"servers.peers[0].asn", 0}}, keys: []string{"servers.peers[0].asn"}},
		{name: "peer ASN missing", stack: "racks", edits: []edit{{"servers.workers[1].peers[0].asn", nil}}, keys: []string{"servers.workers[1].peers[0].asn"}},
		{name: "peer ASN AS_TRANS", stack: "provider", edits: []edit{{"servers.peers[1].asn", 23456}}, keys: []string{"servers.peers[1].asn"}},
		{name: "peer ASN beyond 32 bits", stack: "provider", edits: []edit{{"servers.peers[1].asn", 4294967296}}, keys: []string{"servers.peers[1].asn"}},
		{name: "multihop peer without gateway", stack: "provider", edits: []edit{{"servers.workers[1].gateway", nil}}, keys: []string{"servers.workers[1].gateway"}},
		{name: "own multihop peer without gateway", stack: "racks", edits: []edit{{"servers.workers[2].peers[1].multihop", true}}, keys: []string{"servers.workers[2].gateway"}},
		{name: "gateway is the server itself", stack: "provider", edits: []edit{{"servers.workers[0].gateway", "10.40.0.12"}}, keys: []string{"servers.workers[0].gateway"}},
		{name: "gateway not an address", stack: "provider", edits: []edit{{"servers.controller.gateway", "10.40.0.256"}}, keys: []string{"servers.controller.gateway"}},
		// A wrong type stops the decoding; its error names the list, not the element.
		{name: "multihop a string", stack: "provider", edits: []edit{{"servers.peers[0].multihop", "yes"}}, keys: []string{"servers.peers.multihop"}},
		// BGP passwords: BIRD reads them as quoted strings, Linux takes at most 80 bytes.
		{name: "MD5 password with a space", stack: "provider", edits: []edit{{"servers.peers[0].md5Password", md5Space}}, keys: []string{"servers.peers[0].md5Password"}, secret: md5Space},
		{name: "MD5 password with a quote", stack: "racks", edits: []edit{{"servers.workers[1].peers[1].md5Password", md5Quote}}, keys: []string{"servers.workers[1].peers[1].md5Password"}, secret: md5Quote},
		{name: "MD5 password with a backslash", stack: "racks", edits: []edit{{"servers.peers[1].md5Password", md5Backslash}}, keys: []string{"servers.peers[1].md5Password"}, secret: md5Backslash},
		{name: "MD5 password of 81 bytes", stack: "provider", edits: []edit{{"servers.peers[1].md5Password", md5Long}}, keys: []string{"servers.peers[1].md5Password"}, secret: md5Long},
		{name: "MD5 password not ASCII", stack: "provider", edits: []edit{{"servers.peers[1].md5Password", "Geheimnisß1"}}, keys: []string{"servers.peers[1].md5Password"}, secret: "Geheimnis"},
		// The cluster's ASN.
		{name: "ASN 0", stack: "racks", edits: []edit{{"servers.asn", 0}}, keys: []string{"servers.asn"}},
		{name: "ASN AS_TRANS", stack: "racks", edits: []edit{{"servers.asn", 23456}}, keys: []string{"servers.asn"}},
		{name: "ASN 65535", stack: "racks", edits: []edit{{"servers.asn", 65535}}, keys: []string{"servers.asn"}},
		{name: "ASN 4294967295", stack: "racks", edits: []edit{{"servers.asn", 4294967295}}, keys: []string{"servers.asn"}},
		{name: "ASN for documentation 64500", stack: "racks", edits: []edit{{"servers.asn", 64500}}, keys: []string{"servers.asn"}},
		{name: "ASN for documentation 65550", stack: "provider", edits: []edit{{"servers.asn", 65550}}, keys: []string{"servers.asn"}},
		{name: "ASN a string", stack: "racks", edits: []edit{{"servers.asn", "65000"}}, keys: []string{"servers.asn"}},
		{name: "ASN the speakers'", stack: "racks", edits: []edit{{"servers.asn", 65480}}, keys: []string{"metallb.asn"}},
		// SSH login.
		{name: "ssh.user upper case", stack: "racks", edits: []edit{{"servers.ssh.user", "Admin"}}, keys: []string{"servers.ssh.user"}},
		{name: "ssh.user with a space", stack: "racks", edits: []edit{{"servers.ssh.user", "ops user"}}, keys: []string{"servers.ssh.user"}},
		{name: "ssh.privateKey missing", stack: "racks", edits: []edit{{"servers.ssh.privateKey", nil}}, keys: []string{"servers.ssh.privateKey"}},
		{name: "ssh.privateKey not a key", stack: "racks", edits: []edit{{"servers.ssh.privateKey", badKey}}, keys: []string{"servers.ssh.privateKey"}, secret: badKey},
		{name: "ssh.privateKey with a passphrase", stack: "provider", edits: []edit{{"servers.ssh.privateKey", passphraseKey(t)}}, keys: []string{"servers.ssh.privateKey"}, says: "passphrase", secret: "PRIVATE KEY"},
		{name: "bastion address missing", stack: "provider", edits: []edit{{"servers.ssh.bastion.address", nil}}, keys: []string{"servers.ssh.bastion.address"}},
		{name: "bastion address a URL", stack: "provider", edits: []edit{{"servers.ssh.bastion.address", "ssh://203.0.113.5"}}, keys: []string{"servers.ssh.bastion.address"}},
		{name: "bastion port 70000", stack: "provider", edits: []edit{{"servers.ssh.bastion.port", 70000}}, keys: []string{"servers.ssh.bastion.port"}},
		{name: "bastion port negative", stack: "provider", edits: []edit{{"servers.ssh.bastion.port", -1}}, keys: []string{"servers.ssh.bastion.port"}},
		{name: "bastion user with capitals", stack: "provider", edits: []edit{{"servers.ssh.bastion.user", "Jump"}}, keys: []string{"servers.ssh.bastion.user"}},
		{name: "bastion privateKey not a key", stack: "provider", edits: []edit{{"servers.ssh.bastion.privateKey", badKey}}, keys: []string{"servers.ssh.bastion.privateKey"}, secret: badKey},
		// The API server's access.
		{name: "allowedCidrs with a controller without publicIpv4", stack: "provider", edits: []edit{{"servers.controller.publicIpv4", nil}}, keys: []string{"servers.controller.publicIpv4"}},
		{name: "racks allow-listed without a public address", stack: "racks", edits: []edit{{"apiServer", map[string]any{"allowedCidrs": []any{"198.51.100.7/32"}}}}, keys: []string{"servers.controller.publicIpv4"}},
		{name: "no API server choice", stack: "racks", edits: []edit{{"apiServer", nil}}, keys: []string{"apiServer"}},
		// LoadBalancer ranges and the cluster networks against the servers' and routers' addresses.
		{name: "pool holds the controller", stack: "racks", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"10.10.1.10/32"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool holds a public address", stack: "provider", edits: []edit{{"loadBalancer.pools[0].cidrs", []any{"203.0.113.12/31"}}}, keys: []string{"loadBalancer.pools[0].cidrs[0]", "loadBalancer.pools[0].cidrs[0]"}},
		{name: "pool holds a shared router", stack: "racks", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"10.10.1.2/32"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool holds an own router of two servers", stack: "racks", edits: []edit{{"loadBalancer.pools[1].cidrs", []any{"10.10.2.3/32"}}}, keys: []string{"loadBalancer.pools[1].cidrs[0]", "loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool holds the gateway", stack: "provider", edits: []edit{{"loadBalancer.pools[1]", serversPool("gw", "10.40.0.0/31")}}, keys: []string{"loadBalancer.pools[1].cidrs[0]", "loadBalancer.pools[1].cidrs[0]", "loadBalancer.pools[1].cidrs[0]"}},
		{name: "pool without cidrs", stack: "racks", edits: []edit{{"loadBalancer.pools[1].cidrs", nil}}, keys: []string{"loadBalancer.pools[1].cidrs"}},
		{name: "pod network holds a rack", stack: "racks", edits: []edit{{"kubernetes.podCidr", "10.10.1.0/24"}}, keys: []string{"kubernetes.podCidr", "kubernetes.podCidr", "kubernetes.podCidr", "kubernetes.podCidr"}},
		// 203.0.113.0/28 holds the bastion 203.0.113.5 and the three public addresses.
		{name: "service network holds the public addresses", stack: "provider", edits: []edit{{"kubernetes.serviceCidr", "203.0.113.0/28"}}, keys: []string{"kubernetes.serviceCidr", "kubernetes.serviceCidr", "kubernetes.serviceCidr", "kubernetes.serviceCidr"}},
		{name: "pool holds the bastion", stack: "provider", edits: []edit{{"loadBalancer.pools[0].cidrs", []any{"203.0.113.0/29"}}}, keys: []string{"loadBalancer.pools[0].cidrs[0]"}},
		{name: "pod network on the route servers", stack: "provider", edits: []edit{{"kubernetes.podCidr", "169.254.0.0/16"}}, keys: []string{"kubernetes.podCidr", "kubernetes.podCidr", "kubernetes.podCidr"}},
		{name: "bird-local-peer without workers", stack: "racks", edits: []edit{{"loadBalancer.mode", "bird-local-peer"}, {"servers.workers", nil}}, keys: []string{"loadBalancer.mode"}},
		// Several controllers and the API address. In the ha stack the controller 10.10.1.10 and
		// servers.controllers 10.10.1.11 and 10.10.1.12 share the API address 10.10.0.100; the
		// workers are 10.10.1.20 and .21, the routers 10.10.1.2 and .3, the pool 10.10.100.0/24.
		{name: "one further controller", stack: "ha", edits: []edit{{"servers.controllers", []any{haServer("ha-controller-1", "10.10.1.11")}}}, keys: []string{"servers.controllers"}},
		{name: "three further controllers", stack: "ha", edits: []edit{{"servers.controllers[2]", haServer("ha-controller-3", "10.10.1.13")}}, keys: []string{"servers.controllers"}},
		{name: "controllers without an API address", stack: "ha", edits: []edit{{"servers.apiAddress", nil}}, keys: []string{"servers.apiAddress"}},
		{name: "API address with a prefix length", stack: "ha", edits: []edit{{"servers.apiAddress", "10.10.0.100/32"}}, keys: []string{"servers.apiAddress"}},
		{name: "API address not IPv4", stack: "racks", edits: []edit{{"servers.apiAddress", "fd00::100"}}, keys: []string{"servers.apiAddress"}},
		{name: "API address a further controller's", stack: "ha", edits: []edit{{"servers.apiAddress", "10.10.1.12"}}, keys: []string{"servers.apiAddress"}},
		{name: "API address a worker's", stack: "ha", edits: []edit{{"servers.apiAddress", "10.10.1.21"}}, keys: []string{"servers.apiAddress"}},
		{name: "API address a router's", stack: "ha", edits: []edit{{"servers.apiAddress", "10.10.1.3"}}, keys: []string{"servers.apiAddress"}},
		{name: "API address a rack's own router", stack: "racks", edits: []edit{{"servers.apiAddress", "10.10.2.2"}}, keys: []string{"servers.apiAddress"}},
		{name: "API address link-local", stack: "ha", edits: []edit{{"servers.apiAddress", "169.254.0.100"}}, keys: []string{"servers.apiAddress"}},
		{name: "API address loopback", stack: "ha", edits: []edit{{"servers.apiAddress", "127.0.0.100"}}, keys: []string{"servers.apiAddress"}},
		{name: "pool holds the API address", stack: "ha", edits: []edit{{"loadBalancer.pools[0].cidrs", []any{"10.10.0.96/28"}}}, keys: []string{"loadBalancer.pools[0].cidrs[0]"}},
		{name: "pod network holds the API address", stack: "ha", edits: []edit{{"kubernetes.podCidr", "10.10.0.0/24"}}, keys: []string{"kubernetes.podCidr"}},
		{name: "service network holds the API address", stack: "ha", edits: []edit{{"kubernetes.serviceCidr", "10.10.0.0/24"}, {"kubernetes.dnsServiceIp", nil}}, keys: []string{"kubernetes.serviceCidr"}},
		{name: "API port a further controller's SSH port", stack: "ha", edits: []edit{{"servers.controllers[1].sshPort", 6443}}, keys: []string{"kubernetes.apiPort"}},
		{name: "further controller's address invalid", stack: "ha", edits: []edit{{"servers.controllers[0].privateIpv4", "10.10.1.300"}}, keys: []string{"servers.controllers[0].privateIpv4"}},
		{name: "worker named as a further controller", stack: "ha", edits: []edit{{"servers.workers[1].name", "ha-controller-2"}}, keys: []string{"servers.workers[1].name"}},
		{name: "further controller reached as a worker", stack: "ha", edits: []edit{{"servers.controllers[0].sshAddress", "10.10.1.20"}}, keys: []string{"servers.workers[0].sshAddress"}},
		{name: "Metal key controller.count", stack: "ha", edits: []edit{{"controller.count", 3}}, keys: []string{"controller"}, says: "servers"},
		// Equinix Metal keys: the servers mode takes none.
		{name: "Metal key metro", stack: "racks", edits: []edit{{"metro", "sv"}}, keys: []string{"metro"}, says: "servers"},
		{name: "Metal key project", stack: "racks", edits: []edit{{"project.organizationId", "00000000-0000-4000-8000-000000000000"}}, keys: []string{"project"}, says: "servers"},
		{name: "Metal key workers", stack: "provider", edits: []edit{{"workers.count", 2}}, keys: []string{"workers"}, says: "servers"},
		{name: "Metal key workers, count 0", stack: "racks", edits: []edit{{"workers.count", 0}}, keys: []string{"workers"}, says: "servers"},
		{name: "Metal key controller", stack: "racks", edits: []edit{{"controller.plan", "c3.small.x86"}}, keys: []string{"controller"}, says: "servers"},
		{name: "Metal key ssh", stack: "racks", edits: []edit{{"ssh.privateKey", testKey}}, keys: []string{"ssh"}, says: "servers", secret: "OPENSSH PRIVATE KEY"},
		{name: "Metal key bgp", stack: "provider", edits: []edit{{"bgp.md5Password", "MetalSecret1"}}, keys: []string{"bgp"}, says: "servers", secret: "MetalSecret1"},
		{name: "Metal key elasticIps", stack: "racks", edits: []edit{{"elasticIps", []any{map[string]any{"name": "public", "type": "public_ipv4", "quantity": 4}}}}, keys: []string{"elasticIps"}, says: "servers"},
		{name: "Metal key operatingSystem", stack: "provider", edits: []edit{{"operatingSystem", "ubuntu_24_04"}}, keys: []string{"operatingSystem"}, says: "servers"},
		{name: "pool on an elastic IP block", stack: "racks", edits: []edit{{"loadBalancer.pools[0]", map[string]any{"name": "public", "elasticIp": "public"}}}, keys: []string{"loadBalancer.pools[0].elasticIp"}, says: "servers"},
		// Keys and types.
		{name: "unknown key servers.controller.plan", stack: "racks", edits: []edit{{"servers.controller.plan", "c3.small.x86"}}, keys: []string{"servers.controller.plan"}, says: "unknown key"},
		{name: "unknown key servers.metro", stack: "provider", edits: []edit{{"servers.metro", "sv"}}, keys: []string{"servers.metro"}, says: "unknown key"},
		{name: "unknown key in a peer", stack: "provider", edits: []edit{{"servers.peers[0].password", "Secret1234"}}, keys: []string{"servers.peers[0].password"}, says: "unknown key"},
		{name: "workers an object", stack: "racks", edits: []edit{{"servers.workers", map[string]any{"count": 3}}}, keys: []string{"servers.workers"}},
		{name: "servers empty", stack: "racks", edits: []edit{{"servers", map[string]any{}}}, keys: []string{"servers.ssh.privateKey", "servers.controller.name", "servers.controller.sshAddress", "servers.controller.privateIpv4", "servers.controller.peers"}},
		// Several problems at once, in one server and across the settings.
		{name: "several problems at once", stack: "provider", edits: []edit{
			{"servers.workers[0].name", "bm-controller"}, {"servers.workers[1].sshPort", 0}, {"servers.workers[1].sshAddress", "10.40.0.12"},
			{"servers.peers[1].md5Password", md5Space}, {"servers.asn", 64511}, {"servers.ssh.bastion.port", 0}, {"metro", "sv"},
		}, keys: []string{"servers.workers[0].name", "servers.workers[1].sshAddress", "servers.peers[1].md5Password", "servers.asn", "metro"}, secret: md5Space},
	}
}

// TestInvalidServersConfigurations runs the program on each invalid configuration of the servers
// mode: it must fail, list exactly the expected keys, say for every problem what is expected,
// never show a secret, and register no resource at all.
func TestInvalidServersConfigurations(t *testing.T) {
	cases := invalidServersCases(t)
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	names := map[string]bool{}
	for _, tc := range cases {
		if names[tc.name] {
			t.Fatalf("case %q twice", tc.name)
		}
		names[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			c := stackCluster(t, tc.stack)
			for _, e := range tc.edits {
				set(t, c, e.path, e.val)
			}
			r := run(t, c, runOptions{})
			if r.err == nil {
				t.Fatalf("accepted")
			}
			if n := len(r.cloud.Resources()); n != 0 {
				t.Errorf("%d resources registered for an invalid configuration", n)
			}
			var want []string
			for _, k := range tc.keys {
				want = append(want, config.Key+"."+k)
			}
			keys, details := problems(r.err)
			sort.Strings(keys)
			sort.Strings(want)
			if !reflect.DeepEqual(keys, want) {
				t.Errorf("keys %q, want %q; error:\n%v", keys, want, r.err)
			}
			for i, d := range details {
				if strings.TrimSpace(d) == "" || emptyExpectation.MatchString(d) || strings.Contains(d, "  ") {
					t.Errorf("problem %d does not say what is expected: %q", i, d)
				}
				if tc.says != "" && !strings.Contains(d, tc.says) {
					t.Errorf("problem %d does not say %q: %q", i, tc.says, d)
				}
			}
			if tc.secret != "" {
				if strings.Contains(r.err.Error(), tc.secret) {
					t.Errorf("the error shows the secret:\n%v", r.err)
				}
				for _, k := range want {
					if strings.HasSuffix(k, "md5Password") || strings.HasSuffix(k, "privateKey") {
						if !strings.Contains(r.err.Error(), k+` = "[secret]"`) {
							t.Errorf("%s is not shown as [secret]:\n%v", k, r.err)
						}
					}
				}
			}
		})
	}
}

// TestValidServersMutations runs the program on valid variants of the servers mode's example
// stacks, so that the invalid table's stacks and edits are not refused for a reason of their own:
// each must deploy, with one node per server.
func TestValidServersMutations(t *testing.T) {
	cases := []struct {
		name  string
		stack string
		edits []edit
		nodes int
	}{
		{"racks as written", "racks", nil, 4},
		{"provider as written", "provider", nil, 3},
		{"server without own peers takes the shared ones", "racks", []edit{{"servers.workers[2].peers", nil}}, 4},
		{"worker without publicIpv4", "provider", []edit{{"servers.workers[1].publicIpv4", nil}}, 3},
		{"no bastion", "provider", []edit{{"servers.ssh.bastion", nil}}, 3},
		{"bastion port 0 is 22", "provider", []edit{{"servers.ssh.bastion.port", 0}}, 3},
		{"sshPort 0 is 22", "racks", []edit{{"servers.workers[0].sshPort", 0}}, 4},
		{"one address, two ports", "racks", []edit{{"servers.workers[0].sshAddress", "10.10.1.10"}, {"servers.workers[0].sshPort", 2222}}, 4},
		{"sshAddress a DNS name", "racks", []edit{{"servers.workers[0].sshAddress", "r1-worker-0.rack1.example"}}, 4},
		{"one-node cluster", "racks", []edit{{"servers.workers", nil}}, 1},
		{"4-byte private ASN", "racks", []edit{{"servers.asn", 4200000000}}, 4},
		{"peers with the cluster's ASN (iBGP)", "racks", []edit{{"servers.peers[0].asn", 65000}}, 4},
		{"MD5 password of 80 bytes", "provider", []edit{{"servers.peers[0].md5Password", strings.Repeat("Ab1!", 20)}}, 3},
		{"own multihop peer with a gateway", "racks", []edit{{"servers.workers[2].peers[1].multihop", true}, {"servers.workers[2].gateway", "10.10.2.1"}}, 4},
		{"bird-local-peer with workers", "provider", []edit{{"loadBalancer.mode", "bird-local-peer"}}, 3},
		{"ssh user other than root", "racks", []edit{{"servers.ssh.user", "deploy"}}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := stackCluster(t, tc.stack)
			for _, e := range tc.edits {
				set(t, c, e.path, e.val)
			}
			r := run(t, c, runOptions{})
			if r.err != nil {
				t.Fatalf("refused: %v", r.err)
			}
			if len(r.nodes) != tc.nodes {
				t.Errorf("%d nodes, want %d", len(r.nodes), tc.nodes)
			}
			if len(r.cloud.Resources()) == 0 {
				t.Error("no resource registered")
			}
		})
	}
}
