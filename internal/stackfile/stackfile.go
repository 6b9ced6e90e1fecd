// Package stackfile reads a Pulumi stack file (Pulumi.<stack>.yaml) into the configuration map a
// Pulumi program receives, without the Pulumi CLI. Encrypted values cannot be read offline; they
// are replaced by placeholders and reported, so an offline run never needs a secret.
package stackfile

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Placeholder replaces an encrypted value that is not a private key. It is a valid value of
// every secret setting that is not a key: a BGP MD5 password by Equinix Metal's rules (10 to 20
// letters and digits, lower case, upper case and a digit) and a token.
const Placeholder = "OfflinePlaceholder1"

// Config is a stack's configuration as the program sees it.
type Config struct {
	// Values maps namespaced keys to their values; objects and lists are JSON, as Pulumi passes them.
	Values map[string]string
	// SecretKeys are the keys holding at least one encrypted value.
	SecretKeys []string
	// Placeholders lists the paths of encrypted values replaced by placeholders.
	Placeholders []string
}

// Load reads Pulumi.<stack>.yaml from dir; project is the namespace of keys written without one.
func Load(dir, project, stack string) (*Config, error) {
	path := fmt.Sprintf("%s/Pulumi.%s.yaml", dir, stack)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data, project)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads the content of a stack file.
func Parse(data []byte, project string) (*Config, error) {
	// The fields a stack file may have besides config; a misspelt one is an error. The YAML is
	// read as the Pulumi CLI reads it (gopkg.in/yaml.v3, github.com/pulumi/pulumi/sdk/v3's
	// encoding.YAML): YAML 1.2 scalars, so yes and on stay strings, 0123 is octal as in YAML
	// 1.1, large integers keep every digit, and an empty value is null (TestSameReadingAsPulumi).
	var file struct {
		Config          map[string]any `yaml:"config"`
		EncryptionSalt  string         `yaml:"encryptionsalt"`
		SecretsProvider string         `yaml:"secretsprovider"`
		EncryptedKey    string         `yaml:"encryptedkey"`
		Environment     any            `yaml:"environment"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	c := &Config{Values: map[string]string{}}
	keys := make([]string, 0, len(file.Config))
	for k := range file.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		full := k
		if !strings.Contains(k, ":") {
			full = project + ":" + k
		}
		v, secret, err := c.resolve(full, file.Config[k])
		if err != nil {
			return nil, err
		}
		if secret {
			c.SecretKeys = append(c.SecretKeys, full)
		}
		if s, ok := v.(string); ok {
			c.Values[full] = s
			continue
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", full, err)
		}
		c.Values[full] = string(j)
	}
	return c, nil
}

// resolve replaces encrypted leaves ({secure: ...}) and reports whether there were any.
func (c *Config) resolve(path string, v any) (any, bool, error) {
	switch t := v.(type) {
	case map[string]any:
		if s, ok := t["secure"]; ok && len(t) == 1 {
			if _, isString := s.(string); !isString {
				return nil, false, fmt.Errorf("%s: secure value must be a string", path)
			}
			c.Placeholders = append(c.Placeholders, path)
			if strings.HasSuffix(strings.ToLower(path), "privatekey") {
				key, err := throwawayKey(path)
				return key, true, err
			}
			return Placeholder, true, nil
		}
		secret := false
		out := map[string]any{}
		// In key order, so that the placeholders are listed the same way on every run.
		for _, k := range slices.Sorted(maps.Keys(t)) {
			r, s, err := c.resolve(path+"."+k, t[k])
			if err != nil {
				return nil, false, err
			}
			out[k], secret = r, secret || s
		}
		return out, secret, nil
	case []any:
		secret := false
		out := make([]any, len(t))
		for i, e := range t {
			r, s, err := c.resolve(fmt.Sprintf("%s[%d]", path, i), e)
			if err != nil {
				return nil, false, err
			}
			out[i], secret = r, secret || s
		}
		return out, secret, nil
	case nil:
		// An empty value: the program sees an empty string at the top and null inside objects
		// and lists, as Pulumi passes it.
		if !strings.Contains(path, ".") && !strings.Contains(path, "[") {
			return "", false, nil
		}
		return nil, false, nil
	case string:
		return t, false, nil
	case time.Time:
		// A date: Pulumi hands the program Go's text form of it, at the top and inside objects.
		return t.String(), false, nil
	case map[any]any:
		return nil, false, fmt.Errorf("%s: keys of an object must be strings", path)
	default:
		// Top-level scalars reach a program as strings; nested ones keep their JSON type.
		if !strings.Contains(path, ".") && !strings.Contains(path, "[") {
			return fmt.Sprint(t), false, nil
		}
		return t, false, nil
	}
}

// throwawayKey stands in for an encrypted private key, so the public half can still be derived.
// It is derived from the key's path and written as PKCS #8 (OpenSSH's own format carries a
// random check number), so that the same stack file always plans the same.
func throwawayKey(path string) (string, error) {
	seed := sha256.Sum256([]byte("metalk8s offline placeholder " + path))
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}
