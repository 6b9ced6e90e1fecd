package stackfile

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/encoding"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"golang.org/x/crypto/ssh"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
encryptionsalt: v1:salt
config:
  equinix:authToken:
    secure: v1:abc
  port: 6443
  metalk8s:cluster:
    metro: sv
    workers: {count: 2}
    bgp:
      md5Password:
        secure: v1:def
    list:
      - secure: v1:ghi
`), "metalk8s")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Values["metalk8s:port"]; got != "6443" {
		t.Errorf("a key without namespace or a top-level number: %q", got)
	}
	if got := c.Values["equinix:authToken"]; got != Placeholder {
		t.Errorf("encrypted top-level value: %q", got)
	}
	var cluster map[string]any
	if err := json.Unmarshal([]byte(c.Values["metalk8s:cluster"]), &cluster); err != nil {
		t.Fatal(err)
	}
	if cluster["workers"].(map[string]any)["count"] != 2.0 {
		t.Errorf("nested number lost its type: %v", cluster["workers"])
	}
	if cluster["bgp"].(map[string]any)["md5Password"] != Placeholder {
		t.Errorf("nested encrypted value: %v", cluster["bgp"])
	}
	wantSecret := []string{"equinix:authToken", "metalk8s:cluster"}
	if !reflect.DeepEqual(c.SecretKeys, wantSecret) {
		t.Errorf("secret keys %v, want %v", c.SecretKeys, wantSecret)
	}
	wantPh := []string{"equinix:authToken", "metalk8s:cluster.bgp.md5Password", "metalk8s:cluster.list[0]"}
	if !reflect.DeepEqual(c.Placeholders, wantPh) {
		t.Errorf("placeholders %v, want %v", c.Placeholders, wantPh)
	}
}

// TestEncryptedPrivateKeyGetsAUsableStandIn checks that an encrypted private key becomes a key
// the SSH library parses, the same one on every read (plans are compared byte for byte), and
// another one at another path.
func TestEncryptedPrivateKeyGetsAUsableStandIn(t *testing.T) {
	key := func(stack string) string {
		t.Helper()
		c, err := Parse([]byte(stack), "metalk8s")
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			SSH struct {
				PrivateKey string `json:"privateKey"`
			} `json:"ssh"`
			Servers struct {
				SSH struct {
					PrivateKey string `json:"privateKey"`
				} `json:"ssh"`
			} `json:"servers"`
		}
		if err := json.Unmarshal([]byte(c.Values["metalk8s:cluster"]), &v); err != nil {
			t.Fatal(err)
		}
		k := v.SSH.PrivateKey + v.Servers.SSH.PrivateKey
		if _, err := ssh.ParsePrivateKey([]byte(k)); err != nil {
			t.Errorf("stand-in key does not parse: %v", err)
		}
		return k
	}
	metal := "config:\n  metalk8s:cluster:\n    ssh:\n      privateKey:\n        secure: v1:x\n"
	servers := "config:\n  metalk8s:cluster:\n    servers:\n      ssh:\n        privateKey:\n          secure: v1:x\n"
	first, second := key(metal), key(metal)
	if first != second {
		t.Error("the stand-in key differs from one read to the next")
	}
	if key(metal) == key(servers) {
		t.Error("the stand-in keys of two paths are the same")
	}
}

func TestUnknownTopLevelField(t *testing.T) {
	if _, err := Parse([]byte("config: {}\nconfg: {}\n"), "p"); err == nil {
		t.Error("a misspelt top-level field was accepted")
	}
}

// placeholderDecrypter decrypts every secure value to Placeholder, as this package does offline.
type placeholderDecrypter struct{}

func (placeholderDecrypter) DecryptValue(context.Context, string) (string, error) {
	return Placeholder, nil
}

func (placeholderDecrypter) BatchDecrypt(_ context.Context, cs []string) ([]string, error) {
	out := make([]string, len(cs))
	for i := range out {
		out[i] = Placeholder
	}
	return out, nil
}

// pulumiReading is the configuration the Pulumi CLI hands a program for a stack file: the file
// loaded by workspace.LoadProjectStackBytes (what `pulumi up` uses, YAML through gopkg.in/yaml.v3),
// each value as config.Value.Value returns it, which is what the CLI puts into PULUMI_CONFIG
// (objects and lists as JSON, scalars as strings).
func pulumiReading(t *testing.T, data []byte, project string) map[string]string {
	t.Helper()
	ps, err := workspace.LoadProjectStackBytes(nil, &workspace.Project{Name: tokens.PackageName(project)}, data, "Pulumi.dev.yaml", encoding.YAML)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range ps.Config {
		s, err := v.Value(placeholderDecrypter{})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k.String()] = s
	}
	return out
}

// sameValue compares two readings of one key: equal strings, or equal JSON documents.
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestSameReadingAsPulumi feeds the same stack files through Pulumi's own loading and through
// Parse, and requires the same value for every key: the dev stack, and a file of the YAML that
// YAML 1.1 and 1.2 read differently (yes/no/on/off, leading zeros, empty values, large integers,
// dates, hexadecimal and octal numbers), at the top and inside an object.
func TestSameReadingAsPulumi(t *testing.T) {
	dev, err := os.ReadFile("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	scalars := []string{
		"yes", "no", "on", "off", "y", "n", "Yes", "TRUE", "true", "False", "0123", "007", "00", "08", "0",
		"-0", "+12", "0x1F", "0o17", "1.50", "1e3", ".5", "12345678901234567890", "2026-06-30",
		"'0123'", `"yes"`, "~", "null", "", "1_000", "0b101", "v1.37.2", "1.37.2", "65000",
	}
	var top, nested, list strings.Builder
	for i, s := range scalars {
		fmt.Fprintf(&top, "  k%d: %s\n", i, s)
		fmt.Fprintf(&nested, "      k%d: %s\n", i, s)
		if s != "" {
			fmt.Fprintf(&list, "        - %s\n", s)
		}
	}
	edge := "config:\n" + top.String() + "  metalk8s:cluster:\n    obj:\n" + nested.String() +
		"    list:\n" + strings.ReplaceAll(list.String(), "        - ", "      - ") +
		"    secret:\n      secure: v1:AAAA\n  equinix:authToken:\n    secure: v1:BBBB\n"
	for name, data := range map[string][]byte{"Pulumi.dev.yaml": dev, "edge cases": []byte(edge)} {
		t.Run(name, func(t *testing.T) {
			want := pulumiReading(t, data, "metalk8s")
			got, err := Parse(data, "metalk8s")
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 1 || name == "edge cases" && len(want) < 3 {
				t.Fatalf("Pulumi read only %d keys", len(want))
			}
			for k, w := range want {
				if g, ok := got.Values[k]; !ok || !sameValue(g, w) {
					t.Errorf("%s: Parse reads %q, Pulumi %q", k, g, w)
				}
			}
			for k := range got.Values {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: read by Parse only", k)
				}
			}
		})
	}
}
