package stackfile

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
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

func TestEncryptedPrivateKeyGetsAUsableStandIn(t *testing.T) {
	c, err := Parse([]byte("config:\n  metalk8s:cluster:\n    ssh:\n      privateKey:\n        secure: v1:x\n"), "metalk8s")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Values["metalk8s:cluster"], "BEGIN OPENSSH PRIVATE KEY") {
		t.Errorf("no stand-in key: %s", c.Values["metalk8s:cluster"])
	}
}

func TestUnknownTopLevelField(t *testing.T) {
	if _, err := Parse([]byte("config: {}\nconfg: {}\n"), "p"); err == nil {
		t.Error("a misspelt top-level field was accepted")
	}
}
