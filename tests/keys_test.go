package tests

import "strconv"

func itoa(i int) string { return strconv.Itoa(i) }

// testKey is an ED25519 key made for these tests only.
const testKey = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz
c2gtZWQyNTUxOQAAACATQxjbTAihLQ13ePJmhBqii0DK+RJmexmjEpBqKsIthAAA
AJBPpEUZT6RFGQAAAAtzc2gtZWQyNTUxOQAAACATQxjbTAihLQ13ePJmhBqii0DK
+RJmexmjEpBqKsIthAAAAEBnSFgA32R0If+t9SIjm+w8lFWOi0EwXOQrWxMJZuqo
vRNDGNtMCKEtDXd48maEGqKLQMr5EmZ7GaMSkGoqwi2EAAAADW1ldGFsazhzLXRl
c3Q=
-----END OPENSSH PRIVATE KEY-----
`

const testPublicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBNDGNtMCKEtDXd48maEGqKLQMr5EmZ7GaMSkGoqwi2E\n"
