package mockcloud

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// realKeys answers the tls provider's PrivateKey and SelfSignedCert with real key material made
// from the resource's inputs, as the provider (hashicorp/terraform-provider-tls) makes it: an ECDSA
// key in a SEC 1 "EC PRIVATE KEY" block, RSA in PKCS #1, ED25519 in PKCS #8; a certificate signed
// by the key given in privateKeyPem, with its subject's common name, validity period, key usages
// and CA flag. Tests that hand the cluster CA to the real kubeadm need this (see Cloud.RealKeys).
func realKeys(token string, in, out resource.PropertyMap) error {
	switch token {
	case "tls:index/privateKey:PrivateKey":
		keyPEM, err := newKeyPEM(stringInput(in, "algorithm"), stringInput(in, "ecdsaCurve"), int(numberInput(in, "rsaBits")))
		if err != nil {
			return err
		}
		out["privateKeyPem"] = resource.MakeSecret(resource.NewProperty(keyPEM))
	case "tls:index/selfSignedCert:SelfSignedCert":
		cert, err := selfSigned(in)
		if err != nil {
			return err
		}
		out["certPem"] = resource.NewProperty(cert)
	}
	return nil
}

func stringInput(in resource.PropertyMap, key string) string {
	if v, ok := in[resource.PropertyKey(key)]; ok {
		return secretString(v)
	}
	return ""
}

func numberInput(in resource.PropertyMap, key string) float64 {
	if v, ok := in[resource.PropertyKey(key)]; ok && v.IsNumber() {
		return v.NumberValue()
	}
	return 0
}

// newKeyPEM generates a private key the way the tls provider's PrivateKey does (its defaults:
// RSA of 2048 bits, ECDSA on P224).
func newKeyPEM(algorithm, curve string, rsaBits int) (string, error) {
	var block *pem.Block
	switch algorithm {
	case "ECDSA":
		curves := map[string]elliptic.Curve{"": elliptic.P224(), "P224": elliptic.P224(), "P256": elliptic.P256(), "P384": elliptic.P384(), "P521": elliptic.P521()}
		c, ok := curves[curve]
		if !ok {
			return "", fmt.Errorf("tls: unknown ECDSA curve %q", curve)
		}
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			return "", err
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", err
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case "RSA", "":
		if rsaBits == 0 {
			rsaBits = 2048
		}
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return "", err
		}
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case "ED25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return "", err
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	default:
		return "", fmt.Errorf("tls: unknown algorithm %q", algorithm)
	}
	return string(pem.EncodeToMemory(block)), nil
}

// selfSigned makes the certificate of a SelfSignedCert from its inputs.
func selfSigned(in resource.PropertyMap) (string, error) {
	block, _ := pem.Decode([]byte(stringInput(in, "privateKeyPem")))
	if block == nil {
		return "", errors.New("tls: privateKeyPem holds no PEM block (RealKeys needs the PrivateKey answered for real too)")
	}
	var key crypto.Signer
	var err error
	switch block.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		var k any
		if k, err = x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			var ok bool
			if key, ok = k.(crypto.Signer); !ok {
				err = fmt.Errorf("tls: unsupported key %T", k)
			}
		}
	}
	if err != nil {
		return "", err
	}
	usages := map[string]x509.KeyUsage{
		"digital_signature": x509.KeyUsageDigitalSignature, "content_commitment": x509.KeyUsageContentCommitment,
		"key_encipherment": x509.KeyUsageKeyEncipherment, "data_encipherment": x509.KeyUsageDataEncipherment,
		"key_agreement": x509.KeyUsageKeyAgreement, "cert_signing": x509.KeyUsageCertSign,
		"crl_signing": x509.KeyUsageCRLSign, "encipher_only": x509.KeyUsageEncipherOnly, "decipher_only": x509.KeyUsageDecipherOnly,
	}
	extUsages := map[string]x509.ExtKeyUsage{"server_auth": x509.ExtKeyUsageServerAuth, "client_auth": x509.ExtKeyUsageClientAuth}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             now,
		NotAfter:              now.Add(time.Duration(numberInput(in, "validityPeriodHours")) * time.Hour),
		BasicConstraintsValid: true,
	}
	if v, ok := in["isCaCertificate"]; ok && v.IsBool() {
		tmpl.IsCA = v.BoolValue()
	}
	if v, ok := in["subject"]; ok && v.IsObject() {
		tmpl.Subject = pkix.Name{CommonName: stringInput(v.ObjectValue(), "commonName")}
	}
	if v, ok := in["allowedUses"]; ok && v.IsArray() {
		for _, u := range v.ArrayValue() {
			name := secretString(u)
			if ku, ok := usages[name]; ok {
				tmpl.KeyUsage |= ku
			} else if eku, ok := extUsages[name]; ok {
				tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, eku)
			} else {
				return "", fmt.Errorf("tls: allowed use %q not modelled", name)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}
