// Package calicobgp holds what metalk8s adds to Calico's BGP set-up: nodes peer over BGP with
// their top-of-rack routers and, when MetalLB runs in BGP mode, with the MetalLB speaker that
// listens on the node's own 127.0.0.1.
package calicobgp

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// LoopbackPeerIP is the address of the BGP peer that BIRD must never dial: MetalLB's speaker
// listens there and connects to the node's own BIRD, so BIRD has to wait for it (passive).
const LoopbackPeerIP = "127.0.0.1"

// ErrNoGlobalPeerAnchor means InsertPassiveLoopback found no place in the template where the
// passive rule for LoopbackPeerIP belongs: neither the Calico ≤ 3.31 global-peer line nor the
// Calico ≥ 3.32 peer loop with its passive condition. The error is wrapped with the details.
var ErrNoGlobalPeerAnchor = errors.New("calicobgp: no global-peer anchor in bird.cfg.template")

// ErrAmbiguousGlobalPeerAnchor means an anchor InsertPassiveLoopback relies on is present but not
// exactly once as a line of its own (repeated, embedded in another line, or both template forms
// mixed), so there is no single safe place for the passive rule. The error is wrapped with the
// details.
var ErrAmbiguousGlobalPeerAnchor = errors.New("calicobgp: ambiguous global-peer anchor in bird.cfg.template")

// The anchors below were read from projectcalico/calico
// confd/etc/calico/confd/templates/bird.cfg.template: legacyPeerAnchor and legacyNodePeerAnchor at
// v3.26 … v3.31.7 (legacyPeerAnchor also in the metalk8s seed guide, Calico 3.5 era),
// peerLoopAnchor and passiveCondition at v3.32.0/v3.32.1 (unchanged on the v3.33/v3.34
// development tags).
const (
	// legacyPeerAnchor opens the BIRD protocol of one global peer inside
	// `{{range gets ".../global/peer_v4/*"}}{{$data := json .Value}}` (Calico ≤ 3.31).
	legacyPeerAnchor = `protocol bgp Global_{{$id}} from bgp_template {`

	// legacyNodePeerAnchor opens the BIRD protocol of one node-specific peer inside
	// `{{range gets ".../host/<node>/peer_v4/*"}}{{$data := json .Value}}` (Calico ≤ 3.31). confd
	// puts a BGPPeer there, not among the global peers, as soon as it has a node or nodeSelector.
	legacyNodePeerAnchor = `protocol bgp Node_{{$id}} from bgp_template {`

	// legacyPassiveLoopbackLine is inserted right after legacyPeerAnchor. It writes
	// `  passive on;` for the peer whose JSON "ip" is LoopbackPeerIP and nothing for the others.
	// It carries its explanation as a template comment rather than a BIRD `#` comment, so no
	// whitespace trimming by a following `{{-` action can ever pull the next BIRD statement into
	// a comment.
	legacyPassiveLoopbackLine = `{{if eq $data.ip "` + LoopbackPeerIP + `"}}  passive on;{{end}}` +
		`{{/* metalk8s: MetalLB's speaker listens on ` + LoopbackPeerIP + `; BIRD must not dial it. */}}`

	// guidePassiveLoopbackLine is the equivalent line of the seed guide. A template that already
	// has it after a legacy anchor (hand-edited) is left as it is.
	guidePassiveLoopbackLine = `{{if eq $data.ip ("` + LoopbackPeerIP + `")}}passive on; # Don't talk to yourself{{end}}`

	// legacyDataDecl is the declaration of $data that legacyPassiveLoopbackLine depends on; it
	// must come before a legacy anchor or the patched template would not even compile in confd.
	legacyDataDecl = `{{$data := json .Value}}`

	// peerLoopAnchor opens the BIRD protocol of every peer in `{{range $config.Peers}}`
	// (Calico ≥ 3.32, peers built in Go as BirdBGPPeer values: .Name, .IP, .Passive, …).
	peerLoopAnchor = `protocol bgp {{.Name}} from bgp_template {`
)

// passiveCondition matches the stock `{{- if .Passive}}` line of the ≥ 3.32 peer block, with any
// spacing and trim markers; the groups are the leading indentation and the two trim markers.
var passiveCondition = regexp.MustCompile(`^([ \t]*)\{\{(-?)\s*if\s+\.Passive\s*(-?)\}\}\s*$`)

// patchedPassiveCondition matches a `.Passive` condition already extended by
// InsertPassiveLoopback.
var patchedPassiveCondition = regexp.MustCompile(
	`^[ \t]*\{\{-?\s*if\s+or\s+\.Passive\s+\(\s*eq\s+\.IP\s+"` + regexp.QuoteMeta(LoopbackPeerIP) + `"\s*\)\s*-?\}\}\s*$`)

// InsertPassiveLoopback returns template, the stock bird.cfg.template of calico-node (as read
// from /etc/calico/confd/templates/ in a running calico-node, or a copy of it), with the rule that
// makes BIRD passive towards the peer LoopbackPeerIP. The result is meant for the key
// bird.cfg.template of the bird-templates ConfigMap that the tigera operator mounts over the stock
// templates.
//
// Two template forms are known:
//
//   - Calico ≤ 3.31: the global-peers section emits one `protocol bgp Global_{{$id}} from
//     bgp_template {` block per global peer from the JSON in $data. legacyPassiveLoopbackLine is
//     inserted right after that line, as the seed guide does. The same line goes after `protocol
//     bgp Node_{{$id}} from bgp_template {` of the node-specific section when the template has
//     one (the stock template does, the guide's excerpt does not): a BGPPeer with a nodeSelector,
//     such as a 127.0.0.1 peer limited to the nodes running a speaker, lands there.
//   - Calico ≥ 3.32: every peer (mesh, global, node-specific) goes through one `protocol bgp
//     {{.Name}} from bgp_template {` block that already has a `{{- if .Passive}}` line; that
//     condition becomes `{{- if or .Passive (eq .IP "127.0.0.1")}}`.
//
// Applying it to its own output returns that output unchanged, so it is safe to run on every
// deployment; a template that carries the guide's hand-added line is also left alone.
//
// It fails rather than guessing, with an error wrapping ErrNoGlobalPeerAnchor when neither form is
// found and ErrAmbiguousGlobalPeerAnchor when an anchor is not exactly one whole line. The result
// replaces the node's BIRD configuration wholesale: a template patched in the wrong place either
// does not compile, and confd then stops writing BIRD configuration for the node, or silently leaves BIRD
// dialling MetalLB's speaker on 127.0.0.1. Both are outages found only on a running node, so a
// template this function does not understand (a new Calico release, say) must stop the
// deployment instead.
//
// Only bird.cfg.template (IPv4) needs the rule; bird6.cfg.template is not concerned. On Calico ≤
// 3.31 the local-workload peer sections (Local_Workload_…) are left alone: confd already makes
// those peers passive.
func InsertPassiveLoopback(template string) (string, error) {
	lines := strings.SplitAfter(template, "\n")

	legacy, err := anchorLines(template, lines, legacyPeerAnchor)
	if err != nil {
		return "", err
	}
	legacyNode, err := anchorLines(template, lines, legacyNodePeerAnchor)
	if err != nil {
		return "", err
	}
	loop, err := anchorLines(template, lines, peerLoopAnchor)
	if err != nil {
		return "", err
	}

	switch {
	case len(legacy)+len(legacyNode) > 0 && len(loop) > 0:
		return "", fmt.Errorf("%w: both the Calico ≤ 3.31 peer lines (line %s) and the Calico ≥ 3.32 line %q (line %d) are present",
			ErrAmbiguousGlobalPeerAnchor, lineNumbers(append(legacy, legacyNode...)), peerLoopAnchor, loop[0]+1)
	case len(legacy) > 1:
		return "", fmt.Errorf("%w: %q is on %d lines (%s), expected once",
			ErrAmbiguousGlobalPeerAnchor, legacyPeerAnchor, len(legacy), lineNumbers(legacy))
	case len(legacyNode) > 1:
		return "", fmt.Errorf("%w: %q is on %d lines (%s), expected at most once",
			ErrAmbiguousGlobalPeerAnchor, legacyNodePeerAnchor, len(legacyNode), lineNumbers(legacyNode))
	case len(loop) > 1:
		return "", fmt.Errorf("%w: %q is on %d lines (%s), expected once",
			ErrAmbiguousGlobalPeerAnchor, peerLoopAnchor, len(loop), lineNumbers(loop))
	case len(legacy) == 1:
		return insertLegacy(lines, append(legacy, legacyNode...))
	case len(loop) == 1:
		return extendPassiveCondition(lines, loop[0])
	case len(legacyNode) == 1:
		return "", fmt.Errorf("%w: only the node-specific line %q (line %d) is present, not the global one %q",
			ErrNoGlobalPeerAnchor, legacyNodePeerAnchor, legacyNode[0]+1, legacyPeerAnchor)
	default:
		return "", fmt.Errorf("%w: neither %q (Calico ≤ 3.31) nor %q (Calico ≥ 3.32) is a line of the template",
			ErrNoGlobalPeerAnchor, legacyPeerAnchor, peerLoopAnchor)
	}
}

// insertLegacy adds legacyPassiveLoopbackLine after each of the Calico ≤ 3.31 anchor lines
// lines[i], i in anchors, that does not have it (or the guide's equivalent) already.
func insertLegacy(lines []string, anchors []int) (string, error) {
	insertions := map[int]string{} // anchor index -> line ending of the line inserted after it
	for _, at := range anchors {
		anchor := strings.TrimSpace(lines[at])
		if !strings.Contains(strings.Join(lines[:at], ""), legacyDataDecl) {
			return "", fmt.Errorf("%w: %q on line %d is not preceded by %q, so it is not the peers loop the rule is written for",
				ErrNoGlobalPeerAnchor, anchor, at+1, legacyDataDecl)
		}
		if !strings.HasSuffix(lines[at], "\n") {
			// The anchor ends the text: the protocol block is not even there.
			return "", fmt.Errorf("%w: %q on line %d is the last line, its protocol block is missing",
				ErrNoGlobalPeerAnchor, anchor, at+1)
		}
		if next := strings.TrimSpace(lines[at+1]); next == legacyPassiveLoopbackLine || next == guidePassiveLoopbackLine {
			continue
		}
		insertions[at] = "\n"
		if strings.HasSuffix(lines[at], "\r\n") {
			insertions[at] = "\r\n"
		}
	}

	var b strings.Builder
	for i, l := range lines {
		b.WriteString(l)
		if eol, ok := insertions[i]; ok {
			b.WriteString(legacyPassiveLoopbackLine)
			b.WriteString(eol)
		}
	}
	return b.String(), nil
}

// extendPassiveCondition makes the `.Passive` condition of the Calico ≥ 3.32 peer block opened
// on lines[at] also true for LoopbackPeerIP, unless that is already done.
func extendPassiveCondition(lines []string, at int) (string, error) {
	end := -1
	for i := at + 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "}" {
			end = i
			break
		}
	}
	if end < 0 {
		return "", fmt.Errorf("%w: %q on line %d has no closing \"}\" line", ErrNoGlobalPeerAnchor, peerLoopAnchor, at+1)
	}

	var stock, patched []int
	for i := at + 1; i < end; i++ {
		line := strings.TrimRight(lines[i], "\r\n")
		switch {
		case passiveCondition.MatchString(line):
			stock = append(stock, i)
		case patchedPassiveCondition.MatchString(line):
			patched = append(patched, i)
		}
	}
	switch {
	case len(stock)+len(patched) > 1:
		return "", fmt.Errorf("%w: the peer block of lines %d-%d has %d `.Passive` conditions (lines %s), expected one",
			ErrAmbiguousGlobalPeerAnchor, at+1, end+1, len(stock)+len(patched), lineNumbers(append(stock, patched...)))
	case len(patched) == 1:
		return strings.Join(lines, ""), nil
	case len(stock) == 0:
		return "", fmt.Errorf("%w: the peer block of lines %d-%d (%q) has no `{{- if .Passive}}` line to extend",
			ErrNoGlobalPeerAnchor, at+1, end+1, peerLoopAnchor)
	}

	i := stock[0]
	line := lines[i]
	eol := line[len(strings.TrimRight(line, "\r\n")):]
	m := passiveCondition.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
	indent, left, right := m[1], m[2], m[3]
	if left != "" {
		left += " "
	}
	if right != "" {
		right = " " + right
	}

	out := make([]string, len(lines))
	copy(out, lines)
	out[i] = fmt.Sprintf(`%s{{%sif or .Passive (eq .IP "%s")%s}}%s`, indent, left, LoopbackPeerIP, right, eol)
	return strings.Join(out, ""), nil
}

// anchorLines returns the indexes of the lines of template that are anchor (surrounding blanks
// ignored). It fails when anchor also occurs inside another line: the text is then not the
// template whose structure InsertPassiveLoopback knows.
func anchorLines(template string, lines []string, anchor string) ([]int, error) {
	var at []int
	for i, l := range lines {
		if strings.TrimSpace(l) == anchor {
			at = append(at, i)
		}
	}
	if n := strings.Count(template, anchor); n != len(at) {
		return nil, fmt.Errorf("%w: %q occurs %d times but only %d of them as a line of its own",
			ErrAmbiguousGlobalPeerAnchor, anchor, n, len(at))
	}
	return at, nil
}

// lineNumbers formats 0-based line indexes as 1-based line numbers.
func lineNumbers(idx []int) string {
	s := make([]string, len(idx))
	for i, n := range idx {
		s[i] = fmt.Sprint(n + 1)
	}
	return strings.Join(s, ", ")
}
