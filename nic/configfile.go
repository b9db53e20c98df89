package nic

// This file reads and writes the configuration file, the on-disk stand-in for the registry
// keys a real miniport reads (R-CAP-2).
//
// Format: one "keyword = value" per line. '#' or ';' starts a comment, anywhere on a line;
// blank lines are ignored; a line may hold at most 4096 bytes. Keywords match
// case-insensitively, as registry value names do, but the two standardized keywords keep
// their '*'. Every keyword may appear at most once; a keyword the file leaves out keeps its
// default (see config.go and DefaultCapabilities). Values:
//
//	*IPsecOffloadV2, *IPsecOffloadV2IPv4   0 disabled, 1 AH, 2 ESP, 3 AH and ESP
//	SaOffloadCapacity                      decimal number, 1 to 1048576
//	IPv6Supported ... ExtendedSequenceNumbers, Ah, Esp, AhEspCombined
//	                                       boolean: 0/1, true/false, yes/no, on/off
//	Encapsulation, UdpEsp, AuthenticationAlgorithms, EncryptionAlgorithms
//	                                       a list of names, separated by ',' or '|', or a
//	                                       number (0x... for hex), or a mix of both
//
// Names are the NDIS constant names without their prefix, in any case, with '-' or '_':
//
//	Encapsulation             NULL, IEEE_802_3, IEEE_802_3_P_AND_Q, IEEE_802_3_P_AND_Q_IN_OOB,
//	                          IEEE_LLC_SNAP_ROUTED
//	UdpEsp                    NONE, TRANSPORT, TUNNEL, TRANSPORT_OVER_UDP_ESP_ENCAPSULATION_TUNNEL,
//	                          UDP_ESP_ENCAPSULATION_TRANSPORT_OVER_TUNNEL
//	AuthenticationAlgorithms  SHA_1 (alias SHA1), SHA_256 (alias SHA256),
//	                          AES_GCM_128, AES_GCM_192, AES_GCM_256 (alias AES_GMAC_x)
//	EncryptionAlgorithms      NONE, AES_GCM_128, AES_GCM_192, AES_GCM_256,
//	                          AES_CBC_128, AES_CBC_192, AES_CBC_256
//
// MD5, DES_CBC and 3_DES_CBC are recognised only to be refused: they are never advertised.
// Which keyword switches off which suite is listed in config.go. A complete example is
// nic/testdata/ov2nic.conf.
//
// Nothing in a file is silently ignored: an unknown keyword is an error, because a misspelt
// keyword that quietly keeps its default is how a NIC ends up offloading what its owner meant
// to switch off. Every error names the file, the line and the keyword.

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/ov2dev/ov2/esp"
	"io"
	"os"
	"strconv"
	"strings"
)

// maxLineBytes bounds one line, so that a stray binary file fails fast instead of being
// buffered whole.
const maxLineBytes = 4096

// fileKeyword is one keyword of the file: its canonical name and how to read and write it.
type fileKeyword struct {
	name   string
	parse  func(c *Config, value string) *ConfigError // Keyword, File and Line are filled in by the caller
	format func(c *Config) string
}

// fileKeywords lists the keywords in the order Format writes them.
var fileKeywords = buildFileKeywords()

func buildFileKeywords() []fileKeyword {
	kws := []fileKeyword{
		keywordLevel(KeywordIPsecOffloadV2, func(c *Config) *uint8 { return &c.IPsecOffloadV2 }),
		keywordLevel(KeywordIPsecOffloadV2IPv4, func(c *Config) *uint8 { return &c.IPsecOffloadV2IPv4 }),
		keywordMask("Encapsulation", encapsulationNames, nil, 0, func(c *Config) *uint32 { return &c.Hardware.Encapsulation }),
	}
	var zero Capabilities
	for i, f := range zero.boolFields() {
		kws = append(kws, keywordBool(f.name, func(c *Config) *bool { return c.Hardware.boolFields()[i].v }))
	}
	return append(kws,
		keywordMask("UdpEsp", udpEspNames, udpEspAliases, 0, func(c *Config) *uint32 { return &c.Hardware.UdpEsp }),
		keywordMask("AuthenticationAlgorithms", authNames, authAliases, brokenAuth, func(c *Config) *uint32 { return &c.Hardware.AuthenticationAlgorithms }),
		keywordMask("EncryptionAlgorithms", encNames, encAliases, brokenEnc, func(c *Config) *uint32 { return &c.Hardware.EncryptionAlgorithms }),
		keywordCapacity(),
		keywordImpl(),
	)
}

// keywordImpl reads CryptoImplementation: which AES-GCM implementation SAs get (a model
// keyword, not a registry one).
func keywordImpl() fileKeyword {
	return fileKeyword{
		name: "CryptoImplementation",
		parse: func(c *Config, v string) *ConfigError {
			impl, err := esp.ParseImpl(strings.ToLower(v))
			if err != nil {
				return &ConfigError{Value: v, Reason: "unknown implementation: want auto, stdlib or portable"}
			}
			c.CryptoImplementation = impl
			return nil
		},
		format: func(c *Config) string { return c.CryptoImplementation.String() },
	}
}

// keywordLevel reads one of the two standardized keywords (0..3).
func keywordLevel(name string, field func(*Config) *uint8) fileKeyword {
	return fileKeyword{
		name: name,
		parse: func(c *Config, v string) *ConfigError {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return &ConfigError{Value: v, Reason: "not a number: " + keywordRangeText}
			}
			if err != nil || n > uint64(keywordMax) {
				return &ConfigError{Value: v, Reason: "out of range: " + keywordRangeText}
			}
			*field(c) = uint8(n)
			return nil
		},
		format: func(c *Config) string { return strconv.Itoa(int(*field(c))) },
	}
}

// keywordCapacity reads SaOffloadCapacity, checking its range here so the error has a line.
func keywordCapacity() fileKeyword {
	rangeText := fmt.Sprintf("want 1 to %d", MaxSaOffloadCapacity)
	return fileKeyword{
		name: "SaOffloadCapacity",
		parse: func(c *Config, v string) *ConfigError {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return &ConfigError{Value: v, Reason: "not a number: " + rangeText}
			}
			if err != nil || n == 0 || n > MaxSaOffloadCapacity {
				return &ConfigError{Value: v, Reason: "out of range: " + rangeText}
			}
			c.Hardware.SaOffloadCapacity = uint32(n)
			return nil
		},
		format: func(c *Config) string { return strconv.FormatUint(uint64(c.Hardware.SaOffloadCapacity), 10) },
	}
}

// keywordBool reads a boolean capability.
func keywordBool(name string, field func(*Config) *bool) fileKeyword {
	return fileKeyword{
		name: name,
		parse: func(c *Config, v string) *ConfigError {
			switch strings.ToLower(v) {
			case "1", "true", "yes", "on":
				*field(c) = true
			case "0", "false", "no", "off":
				*field(c) = false
			default:
				return &ConfigError{Value: v, Reason: "not a boolean: want 0/1, true/false, yes/no or on/off"}
			}
			return nil
		},
		format: func(c *Config) string {
			if *field(c) {
				return "1"
			}
			return "0"
		},
	}
}

// keywordMask reads a bit mask written as names and/or numbers; bits in broken are refused
// here, by name, so the file's line is in the error.
func keywordMask(name string, names []bitName, aliases map[string]uint32, broken uint32, field func(*Config) *uint32) fileKeyword {
	var known uint32
	for _, n := range names {
		known |= n.bit
	}
	return fileKeyword{
		name: name,
		parse: func(c *Config, v string) *ConfigError {
			var mask uint32
			for _, elem := range strings.Split(strings.ReplaceAll(v, "|", ","), ",") {
				elem = strings.TrimSpace(elem)
				if elem == "" {
					return &ConfigError{Value: v, Reason: "empty element in list: want names or numbers separated by ',' or '|'"}
				}
				bit, cerr := parseMaskElem(elem, names, aliases, known, broken)
				if cerr != nil {
					return cerr
				}
				mask |= bit
			}
			*field(c) = mask
			return nil
		},
		format: func(c *Config) string { return strings.ReplaceAll(maskName(*field(c), names), "|", ", ") },
	}
}

// parseMaskElem reads one list element: a name from the table (or an alias) or, failing that,
// a number whose bits must all be known (names come first because "3_DES_CBC" starts with a
// digit). Broken bits are refused either way.
func parseMaskElem(elem string, names []bitName, aliases map[string]uint32, known, broken uint32) (uint32, *ConfigError) {
	bit, ok := lookupName(elem, names, aliases)
	if !ok {
		if elem[0] < '0' || elem[0] > '9' {
			return 0, &ConfigError{Value: elem, Reason: "unknown name (known: " + knownNames(names) + ")"}
		}
		n, err := strconv.ParseUint(elem, 0, 32)
		switch {
		case errors.Is(err, strconv.ErrRange):
			return 0, &ConfigError{Value: elem, Reason: "out of range: wider than 32 bits"}
		case err != nil:
			return 0, &ConfigError{Value: elem, Reason: "not a number or a name (known: " + knownNames(names) + ")"}
		case uint32(n)&^known != 0:
			return 0, &ConfigError{Value: elem, Reason: fmt.Sprintf("out of range: unknown bits 0x%X (known: %s)", uint32(n)&^known, knownNames(names))}
		}
		bit = uint32(n)
	}
	if b := bit & broken; b != 0 {
		return 0, &ConfigError{Value: elem, Reason: "not advertised: broken algorithm " + maskName(b, names)}
	}
	return bit, nil
}

// findKeyword matches a keyword as the registry does, ignoring case.
func findKeyword(s string) (*fileKeyword, bool) {
	for i := range fileKeywords {
		if strings.EqualFold(fileKeywords[i].name, s) {
			return &fileKeywords[i], true
		}
	}
	return nil, false
}

// unknownKeyword explains an unknown keyword; a '*' added or left out gets a pointed hint,
// since that is the likeliest slip with the standardized keywords.
func unknownKeyword(s string) *ConfigError {
	if kw, ok := findKeyword("*" + s); ok {
		return &ConfigError{Keyword: s, Reason: fmt.Sprintf("unknown keyword; did you mean %q? (standardized keywords keep their '*')", kw.name)}
	}
	if kw, ok := findKeyword(strings.TrimPrefix(s, "*")); ok && strings.HasPrefix(s, "*") {
		return &ConfigError{Keyword: s, Reason: fmt.Sprintf("unknown keyword; did you mean %q? (only the standardized keywords start with '*')", kw.name)}
	}
	known := make([]string, len(fileKeywords))
	for i, kw := range fileKeywords {
		known[i] = kw.name
	}
	return &ConfigError{Keyword: s, Reason: "unknown keyword (known: " + strings.Join(known, ", ") + ")"}
}

// ParseConfig reads a configuration file in the format described at the top of this file.
// name is used only in error messages. It starts from DefaultConfig, applies every line, and
// returns the first error; the result has passed Config.Validate. Errors from the content
// are *ConfigError values wrapping ErrConfig; a failing reader's error is wrapped as is.
func ParseConfig(name string, r io.Reader) (Config, error) {
	if name == "" {
		name = "<config>"
	}
	c := DefaultConfig()
	seen := make(map[string]int) // canonical keyword -> line that set it
	sc := bufio.NewScanner(r)
	// Room for a full-length line plus "\r\n"; anything longer stops the scanner.
	sc.Buffer(make([]byte, 0, 512), maxLineBytes+3)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			// A byte order mark, which some editors (Windows Notepad among them) put at the
			// start of a UTF-8 file, is not part of the first keyword.
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		if err := parseLine(&c, text, seen, line); err != nil {
			err.File, err.Line = name, line
			return Config{}, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Config{}, &ConfigError{File: name, Line: line + 1, Reason: fmt.Sprintf("line longer than %d bytes", maxLineBytes)}
		}
		return Config{}, fmt.Errorf("nic: reading %s: %w", name, err)
	}
	if err := c.Validate(); err != nil {
		var ce *ConfigError
		if !errors.As(err, &ce) {
			return Config{}, fmt.Errorf("%s: %w", name, err)
		}
		out := *ce
		out.File = name
		if l, ok := seen[ce.Keyword]; ok {
			out.Line = l
		} else {
			out.Reason += " (the file leaves it at its default)"
		}
		return Config{}, &out
	}
	return c, nil
}

// parseLine applies one line to c. The returned error has no File or Line yet.
func parseLine(c *Config, text string, seen map[string]int, line int) *ConfigError {
	if len(text) > maxLineBytes {
		return &ConfigError{Reason: fmt.Sprintf("line longer than %d bytes", maxLineBytes)}
	}
	if i := strings.IndexAny(text, "#;"); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil
	}
	kwText, value, ok := strings.Cut(text, "=")
	if !ok {
		return &ConfigError{Reason: fmt.Sprintf("missing '=' in %q: want keyword = value", text)}
	}
	kwText, value = strings.TrimSpace(kwText), strings.TrimSpace(value)
	if kwText == "" {
		return &ConfigError{Reason: "missing keyword before '='"}
	}
	kw, ok := findKeyword(kwText)
	if !ok {
		return unknownKeyword(kwText)
	}
	if first, dup := seen[kw.name]; dup {
		return &ConfigError{Keyword: kw.name, Reason: fmt.Sprintf("duplicate keyword: first set on line %d", first)}
	}
	seen[kw.name] = line
	if value == "" {
		return &ConfigError{Keyword: kw.name, Reason: "empty value"}
	}
	if err := kw.parse(c, value); err != nil {
		err.Keyword = kw.name
		return err
	}
	return nil
}

// LoadConfig reads the configuration file at path; see ParseConfig.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("nic: configuration: %w", err)
	}
	defer f.Close()
	return ParseConfig(path, f)
}

// Format writes c in the file format, every keyword once, in a fixed order, so that
// ParseConfig(Format(c)) gives c back for any c that passes Validate (an invalid c is written
// faithfully and fails to parse, naming what is wrong).
func (c Config) Format() string {
	var b strings.Builder
	b.WriteString("# ov2 NIC configuration; the format is described in nic/configfile.go\n")
	for _, kw := range fileKeywords {
		fmt.Fprintf(&b, "%s = %s\n", kw.name, kw.format(&c))
	}
	return b.String()
}
