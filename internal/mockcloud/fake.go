package mockcloud

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"hash/fnv"
	"math/big"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Fake values, all from the documentation ranges so nobody mistakes them for real ones.
var (
	publicBase  = netip.MustParseAddr("203.0.113.0")  // device public addresses
	privateBase = netip.MustParseAddr("198.51.100.0") // device private /31s: gateway even, device odd
	elasticBase = netip.MustParseAddr("192.0.2.0")    // reserved blocks
)

// Fake key material; never a usable key.
const (
	FakePrivateKeyPEM = "-----BEGIN EC PRIVATE KEY-----\nc2ltdWxhdGVk\n-----END EC PRIVATE KEY-----\n"
	FakePrivateKey    = "-----BEGIN OPENSSH PRIVATE KEY-----\nsimulated\n-----END OPENSSH PRIVATE KEY-----\n"
	FakePublicKey     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISIMULATEDSIMULATEDSIMULATEDSIMULATED simulated\n"
)

var trailingNumber = regexp.MustCompile(`(\d+)$`)

// create answers a resource creation with an ID and the outputs the provider would return.
func (c *Cloud) create(token, name string, in resource.PropertyMap) (string, resource.PropertyMap, error) {
	out := in.Copy()
	id := fakeID(token, name)
	if token == "equinix:metal/device:Device" {
		// A device replaced by a change of these inputs is a new device with a new ID.
		id = fakeID(token, name+replacedBy(in, "plan", "metro", "operatingSystem", "projectId", "projectSshKeyIds", "userData"))
	}
	switch token {
	case "equinix:metal/project:Project":
		c.projects[id] = in
	case "equinix:metal/device:Device":
		d := c.newDevice(in)
		c.devices[id] = d
		out["accessPublicIpv4"] = resource.NewProperty(d.public)
		out["accessPrivateIpv4"] = resource.NewProperty(d.private)
		out["network"] = resource.NewProperty([]resource.PropertyValue{
			network(d.public, 31, true, d.publicGateway),
			network(d.private, 31, false, d.gateway),
		})
	case "equinix:metal/bgpSession:BgpSession":
		c.sessions[in["deviceId"].StringValue()] = true
		out["status"] = resource.NewProperty("up")
	case "equinix:metal/reservedIpBlock:ReservedIpBlock":
		out["cidrNotation"] = resource.NewProperty(elasticBlock(name, int(in["quantity"].NumberValue())))
	case "equinix:metal/projectSshKey:ProjectSshKey":
		out["fingerprint"] = resource.NewProperty("00:00:00:00:simulated")
	case "tls:index/privateKey:PrivateKey":
		out["privateKeyOpenssh"] = resource.MakeSecret(resource.NewProperty(FakePrivateKey))
		out["privateKeyPem"] = resource.MakeSecret(resource.NewProperty(FakePrivateKeyPEM))
		out["publicKeyOpenssh"] = resource.NewProperty(FakePublicKey)
	case "tls:index/selfSignedCert:SelfSignedCert":
		cert, err := fakeCertificate(name)
		if err != nil {
			return "", nil, err
		}
		out["certPem"] = resource.NewProperty(cert)
	case "tls:index/certRequest:CertRequest":
		// A placeholder request; RealKeys makes a real one.
		out["certRequestPem"] = resource.NewProperty(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte("mockcloud/" + name)})))
	case "tls:index/locallySignedCert:LocallySignedCert":
		cert, err := fakeCertificate(name)
		if err != nil {
			return "", nil, err
		}
		out["certPem"] = resource.NewProperty(cert)
		// fakeCertificate's dates.
		out["validityStartTime"] = resource.NewProperty("2026-01-01T00:00:00Z")
		out["validityEndTime"] = resource.NewProperty("2036-01-01T00:00:00Z")
		out["readyForRenewal"] = resource.NewProperty(false)
	case "random:index/randomPassword:RandomPassword":
		out["result"] = resource.MakeSecret(resource.NewProperty(fakePassword(name, int(in["length"].NumberValue()))))
	case "command:remote:Command":
		out["stdout"], out["stderr"] = resource.NewProperty(c.runScript(in)), resource.NewProperty("")
	}
	if c.RealKeys {
		if err := realKeys(token, in, out); err != nil {
			return "", nil, err
		}
	}
	return id, out, nil
}

// newDevice gives a device addresses derived from its hostname's trailing number, so the same
// program always gets the same fake addresses whatever order the engine registers devices in.
func (c *Cloud) newDevice(in resource.PropertyMap) device {
	host := ""
	if v, ok := in["hostname"]; ok && v.IsString() {
		host = v.StringValue()
	}
	n := 0
	if m := trailingNumber.FindString(host); m != "" {
		n, _ = strconv.Atoi(m)
		n++
	}
	return device{
		hostname:      host,
		public:        offset(publicBase, 2*n+11).String(),
		publicGateway: offset(publicBase, 2*n+10).String(),
		private:       offset(privateBase, 2*n+1).String(),
		gateway:       offset(privateBase, 2*n).String(),
		projectID:     in["projectId"].StringValue(),
	}
}

// bgpNeighbors answers getDeviceBgpNeighbors like Metal: nothing for a device without a session.
func (c *Cloud) bgpNeighbors(args resource.PropertyMap) (resource.PropertyMap, error) {
	id := args["deviceId"].StringValue()
	d, ok := c.devices[id]
	if !ok {
		return nil, fmt.Errorf("device %s not found", id)
	}
	result := resource.PropertyMap{"deviceId": resource.NewProperty(id), "id": resource.NewProperty(id)}
	if !c.sessions[id] {
		result["bgpNeighbors"] = resource.NewProperty([]resource.PropertyValue{})
		return result, nil
	}
	asn, md5 := 65000.0, ""
	if p, ok := c.projects[d.projectID]; ok {
		if bgp, ok := p["bgpConfig"]; ok && bgp.IsObject() {
			asn = bgp.ObjectValue()["asn"].NumberValue()
			if m, ok := bgp.ObjectValue()["md5"]; ok {
				md5 = secretString(m)
			}
		}
	}
	peers := []resource.PropertyValue{resource.NewProperty("169.254.255.1"), resource.NewProperty("169.254.255.2")}
	multihop := true
	if c.Site == SiteLegacy {
		peers, multihop = []resource.PropertyValue{resource.NewProperty(d.gateway)}, false
	}
	route := func(r string) resource.PropertyValue {
		return resource.NewProperty(resource.PropertyMap{"route": resource.NewProperty(r), "exact": resource.NewProperty(true)})
	}
	result["bgpNeighbors"] = resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{
		"addressFamily": resource.NewProperty(4.0),
		"customerAs":    resource.NewProperty(asn),
		"customerIp":    resource.NewProperty(d.private),
		"md5Enabled":    resource.NewProperty(md5 != ""),
		"md5Password":   resource.MakeSecret(resource.NewProperty(md5)),
		"multihop":      resource.NewProperty(multihop),
		"peerAs":        resource.NewProperty(65530.0),
		"peerIps":       resource.NewProperty(peers),
		"routesIns":     resource.NewProperty([]resource.PropertyValue{route("0.0.0.0/0")}),
		"routesOuts":    resource.NewProperty([]resource.PropertyValue{}),
	})})
	return result, nil
}

func secretString(v resource.PropertyValue) string {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

func network(addr string, cidr int, public bool, gw string) resource.PropertyValue {
	return resource.NewProperty(resource.PropertyMap{
		"address": resource.NewProperty(addr), "cidr": resource.NewProperty(float64(cidr)),
		"family": resource.NewProperty(4.0), "gateway": resource.NewProperty(gw),
		"public": resource.NewProperty(public),
	})
}

// elasticBlock places a block of quantity addresses inside 192.0.2.0/24, aligned, by name.
func elasticBlock(name string, quantity int) string {
	if quantity < 1 || quantity > 256 {
		quantity = 1
	}
	bits := 32
	for q := quantity; q > 1; q >>= 1 {
		bits--
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	slot := int(h.Sum32()) % (256 / quantity)
	return netip.PrefixFrom(offset(elasticBase, slot*quantity), bits).String()
}

// offset adds n to an IPv4 address, carrying into the upper octets.
func offset(base netip.Addr, n int) netip.Addr {
	b := base.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// replacedBy is what of the inputs a resource is replaced for, as one string.
func replacedBy(in resource.PropertyMap, keys ...string) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "/%s=%v", k, in[resource.PropertyKey(k)])
	}
	return b.String()
}

// fakeID is a stable UUID-shaped ID for a resource.
func fakeID(token, name string) string {
	h := fnv.New64a()
	h.Write([]byte(token + "/" + name))
	a := h.Sum64()
	h.Write([]byte("/id"))
	s := fmt.Sprintf("%016x%016x", a, h.Sum64())
	return fmt.Sprintf("%s-%s-4%s-8%s-%s", s[0:8], s[8:12], s[13:16], s[17:20], s[20:32])
}

// fakeCertificate is a real, self-signed CA certificate whose key derives from the resource name,
// so the same program always gets the same certificate (and the same kubeadm discovery hash).
func fakeCertificate(name string) (string, error) {
	seed := sha256.Sum256([]byte("mockcloud/" + name))
	key := ed25519.NewKeyFromSeed(seed[:])
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kubernetes"},
		NotBefore:             time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// fakePassword is a lower-case alphanumeric string of the requested length, derived from the name.
func fakePassword(name string, length int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte("mockcloud/" + name))
	b := make([]byte, length)
	for i := range b {
		b[i] = alphabet[int(sum[i%len(sum)]+byte(i))%len(alphabet)]
	}
	return string(b)
}

// FakeBirdTemplate is what the fake calico-node image holds as its BIRD template: the peer
// sections of a Calico 3.31 template, much shortened.
const FakeBirdTemplate = `# ------------- Global peers -------------
{{range gets "/bgp/v1/global/peer_v4/*"}}{{$data := json .Value}}
{{$nums := split $data.ip "."}}{{$id := join $nums "_"}}
protocol bgp Global_{{$id}} from bgp_template {
  multihop;
  neighbor {{$data.ip}} as {{$data.as_num}};
}
{{end}}
# ------------- Node-specific peers -------------
{{range gets (printf "/bgp/v1/host/%s/peer_v4/*" $node_name)}}{{$data := json .Value}}
{{$nums := split $data.ip "."}}{{$id := join $nums "_"}}
protocol bgp Node_{{$id}} from bgp_template {
  multihop;
  neighbor {{$data.ip}} as {{$data.as_num}};
}
{{end}}
`

// runScript is what a fake host prints for a remote command: the BIRD template guard prints the
// template; every other step prints nothing on standard output.
func (c *Cloud) runScript(in resource.PropertyMap) string {
	stdin := secretString(in["stdin"])
	switch {
	case strings.Contains(stdin, "/etc/calico/confd/templates/bird.cfg.template"):
		return FakeBirdTemplate
	}
	return ""
}

// readState answers the read of an existing resource. A LoadBalancer service gets the first
// address of the MetalLB pool its chart's values ask for, as MetalLB would assign it.
func (c *Cloud) readState(token, id string) (resource.PropertyMap, error) {
	if token != "kubernetes:core/v1:Service" {
		return nil, fmt.Errorf("mockcloud: cannot read %s %s", token, id)
	}
	ns, name, _ := strings.Cut(id, "/")
	pool := ""
	for _, r := range c.resources {
		if r.Type != "kubernetes:helm.sh/v3:Release" || plainString(r.Inputs["name"]) != name || plainString(r.Inputs["namespace"]) != ns {
			continue
		}
		pool = plainString(dig(r.Inputs, "values", "service", "annotations", "metallb.io/address-pool"))
	}
	addr := ""
	for _, r := range c.resources {
		if r.Type != "kubernetes:yaml/v2:ConfigGroup" {
			continue
		}
		for _, o := range secretFree(r.Inputs["objs"]).ArrayValue() {
			obj := o.ObjectValue()
			if plainString(obj["kind"]) == "IPAddressPool" && plainString(dig(obj, "metadata", "name")) == pool {
				if a := dig(obj, "spec", "addresses"); a.IsArray() && len(a.ArrayValue()) > 0 {
					if p, err := netip.ParsePrefix(plainString(a.ArrayValue()[0])); err == nil {
						addr = p.Addr().String()
					}
				}
			}
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("mockcloud: service %s: no address in pool %q", id, pool)
	}
	ingress := resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{"ip": resource.NewProperty(addr)})})
	return resource.PropertyMap{
		"metadata": resource.NewProperty(resource.PropertyMap{"name": resource.NewProperty(name), "namespace": resource.NewProperty(ns)}),
		"status":   resource.NewProperty(resource.PropertyMap{"loadBalancer": resource.NewProperty(resource.PropertyMap{"ingress": ingress})}),
	}, nil
}

// dig follows keys through nested objects (and secrets).
func dig(m resource.PropertyMap, keys ...string) resource.PropertyValue {
	v := resource.NewProperty(m)
	for _, k := range keys {
		v = secretFree(v)
		if !v.IsObject() {
			return resource.NewNullProperty()
		}
		next, ok := v.ObjectValue()[resource.PropertyKey(k)]
		if !ok {
			return resource.NewNullProperty()
		}
		v = next
	}
	return secretFree(v)
}

// secretFree unwraps secrets and known outputs.
func secretFree(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput() && v.OutputValue().Known:
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

func plainString(v resource.PropertyValue) string {
	v = secretFree(v)
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}
