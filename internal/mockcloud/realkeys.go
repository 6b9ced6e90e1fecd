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
	case "tls:index/certRequest:CertRequest":
		csr, err := certRequest(in)
		if err != nil {
			return err
		}
		out["certRequestPem"] = resource.NewProperty(csr)
	case "tls:index/locallySignedCert:LocallySignedCert":
		cert, err := locallySigned(in)
		if err != nil {
			return err
		}
		out["certPem"] = resource.NewProperty(cert.pem)
		out["validityStartTime"] = resource.NewProperty(cert.start.Format(time.RFC3339))
		out["validityEndTime"] = resource.NewProperty(cert.end.Format(time.RFC3339))
		out["readyForRenewal"] = resource.NewProperty(false)
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
	key, err := parseKey(stringInput(in, "privateKeyPem"), "privateKeyPem")
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{BasicConstraintsValid: true}
	if v, ok := in["isCaCertificate"]; ok && v.IsBool() {
		tmpl.IsCA = v.BoolValue()
	}
	if v, ok := in["subject"]; ok && v.IsObject() {
		tmpl.Subject = pkix.Name{CommonName: stringInput(v.ObjectValue(), "commonName")}
	}
	if err := sign(tmpl, in, key.Public(), tmpl, key); err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tmpl.Raw})), nil
}

// parseKey reads a private key in the PEM forms the tls provider writes.
func parseKey(keyPEM, field string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return nil, fmt.Errorf("tls: %s holds no PEM block (RealKeys needs the PrivateKey answered for real too)", field)
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("tls: unsupported key %T", k)
	}
	return key, nil
}

// sign completes tmpl from the inputs the tls provider's certificates share (validityPeriodHours
// from now, allowedUses) and signs it for pub with parent's key; tmpl.Raw is the result.
func sign(tmpl *x509.Certificate, in resource.PropertyMap, pub crypto.PublicKey, parent *x509.Certificate, key crypto.Signer) error {
	usages := map[string]x509.KeyUsage{
		"digital_signature": x509.KeyUsageDigitalSignature, "content_commitment": x509.KeyUsageContentCommitment,
		"key_encipherment": x509.KeyUsageKeyEncipherment, "data_encipherment": x509.KeyUsageDataEncipherment,
		"key_agreement": x509.KeyUsageKeyAgreement, "cert_signing": x509.KeyUsageCertSign,
		"crl_signing": x509.KeyUsageCRLSign, "encipher_only": x509.KeyUsageEncipherOnly, "decipher_only": x509.KeyUsageDecipherOnly,
	}
	extUsages := map[string]x509.ExtKeyUsage{"server_auth": x509.ExtKeyUsageServerAuth, "client_auth": x509.ExtKeyUsageClientAuth}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now()
	tmpl.NotAfter = tmpl.NotBefore.Add(time.Duration(numberInput(in, "validityPeriodHours")) * time.Hour)
	if v, ok := in["allowedUses"]; ok && v.IsArray() {
		for _, u := range v.ArrayValue() {
			name := secretString(u)
			if ku, ok := usages[name]; ok {
				tmpl.KeyUsage |= ku
			} else if eku, ok := extUsages[name]; ok {
				tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, eku)
			} else {
				return fmt.Errorf("tls: allowed use %q not modelled", name)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return err
	}
	signed, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	*tmpl = *signed
	return nil
}

// certRequest makes a CertRequest's request from its key and subject (common name, organization).
func certRequest(in resource.PropertyMap) (string, error) {
	key, err := parseKey(stringInput(in, "privateKeyPem"), "privateKeyPem")
	if err != nil {
		return "", err
	}
	var subject pkix.Name
	if v, ok := in["subject"]; ok && v.IsObject() {
		subject.CommonName = stringInput(v.ObjectValue(), "commonName")
		if o := stringInput(v.ObjectValue(), "organization"); o != "" {
			subject.Organization = []string{o}
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), nil
}

// signedCert is a LocallySignedCert's certificate and validity.
type signedCert struct {
	pem        string
	start, end time.Time
}

// locallySigned signs a LocallySignedCert's request with its CA, as the provider does: the
// request's subject and key, the CA as issuer.
func locallySigned(in resource.PropertyMap) (signedCert, error) {
	block, _ := pem.Decode([]byte(stringInput(in, "certRequestPem")))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return signedCert{}, errors.New("tls: certRequestPem holds no CERTIFICATE REQUEST (RealKeys needs the CertRequest answered for real too)")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return signedCert{}, err
	}
	if err := csr.CheckSignature(); err != nil {
		return signedCert{}, err
	}
	caBlock, _ := pem.Decode([]byte(stringInput(in, "caCertPem")))
	if caBlock == nil {
		return signedCert{}, errors.New("tls: caCertPem holds no PEM block")
	}
	ca, err := x509.ParseCertificate(caBlock.Bytes)
	if err != nil {
		return signedCert{}, err
	}
	caKey, err := parseKey(stringInput(in, "caPrivateKeyPem"), "caPrivateKeyPem")
	if err != nil {
		return signedCert{}, err
	}
	tmpl := &x509.Certificate{Subject: csr.Subject, BasicConstraintsValid: true}
	if err := sign(tmpl, in, csr.PublicKey, ca, caKey); err != nil {
		return signedCert{}, err
	}
	return signedCert{pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tmpl.Raw})), start: tmpl.NotBefore, end: tmpl.NotAfter}, nil
}
