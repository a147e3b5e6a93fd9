package variables

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// defaultPorts are .NET's known schemes.
var defaultPorts = map[string]int{
	"http": 80, "https": 443, "ftp": 21, "gopher": 70, "ws": 80, "wss": 443,
	"ldap": 389, "mailto": 25, "news": 119, "nntp": 119, "telnet": 23, "net.tcp": 808,
}

const relativeURIError = "This operation is not supported for a relative URI."

// uriPart is Octostache's UriPart: a part of the input read as a URI (as
// .NET's System.Uri names them), or a bracketed message saying why not.
func uriPart(_ *evaluator, arg string, hasArg bool, opts []string) (string, bool, string) {
	if !hasArg {
		return "", false, noInput
	}
	if len(opts) == 0 {
		return "[UriPart error: no argument given]", true, ""
	}
	part := opts[0]
	u, abs, ok := parseURI(arg)
	if !ok {
		return arg, true, ""
	}
	errorf := func(msg string) (string, bool, string) {
		return "[UriPart " + part + " error: " + msg + "]", true, ""
	}
	name := strings.ToLower(part)
	if !abs && name != "isabsoluteuri" {
		if _, known := uriParts[name]; known {
			return errorf(relativeURIError)
		}
	}
	if name == "isabsoluteuri" {
		return strconv.FormatBool(abs), true, ""
	}
	f, known := uriParts[name]
	if !known {
		return errorf("argument '" + part + "' not supported")
	}
	return f(u), true, ""
}

// parseURI reads s as an absolute URI (a scheme and what follows) or a
// relative one; ok is false for text .NET would not accept.
func parseURI(s string) (*url.URL, bool, bool) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, false, false
	}
	if u.Scheme == "" || len(u.Scheme) == 1 {
		return u, false, true
	}
	if u.Opaque == "" && u.Host == "" && u.Scheme != "file" && u.Scheme != "mailto" && u.Scheme != "urn" && u.Scheme != "news" {
		if strings.HasPrefix(s[len(u.Scheme)+1:], "//") {
			return nil, false, false // a scheme that needs a host has none
		}
	}
	return u, true, true
}

func uriPort(u *url.URL) int {
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return n
	}
	if p, ok := defaultPorts[strings.ToLower(u.Scheme)]; ok {
		return p
	}
	return -1
}

func uriHost(u *url.URL) string {
	h := strings.ToLower(u.Hostname())
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

func uriAuthority(u *url.URL) string {
	h := uriHost(u)
	if p := u.Port(); p != "" && !isDefaultPort(u) {
		return h + ":" + p
	}
	return h
}

func isDefaultPort(u *url.URL) bool {
	def, ok := defaultPorts[strings.ToLower(u.Scheme)]
	return u.Port() == "" || ok && u.Port() == strconv.Itoa(def)
}

func uriPath(u *url.URL) string {
	if u.Opaque != "" {
		return u.Opaque
	}
	p := u.EscapedPath()
	if p == "" && u.Host != "" {
		p = "/"
	}
	return p
}

func uriQuery(u *url.URL) string {
	if u.RawQuery == "" && !u.ForceQuery {
		return ""
	}
	return "?" + u.RawQuery
}

func uriFragment(u *url.URL) string {
	if u.Fragment == "" {
		return ""
	}
	return "#" + u.EscapedFragment()
}

func uriUserInfo(u *url.URL) string {
	if u.User == nil {
		return ""
	}
	return u.User.String()
}

func schemeAndServer(u *url.URL) string {
	s := strings.ToLower(u.Scheme) + "://" + uriHost(u)
	if p := u.Port(); p != "" && !isDefaultPort(u) {
		s += ":" + p
	}
	return s
}

var uriParts = map[string]func(*url.URL) string{
	"absolutepath": uriPath,
	"absoluteuri": func(u *url.URL) string {
		s := strings.ToLower(u.Scheme) + ":"
		if u.Opaque != "" {
			return s + u.Opaque + uriQuery(u) + uriFragment(u)
		}
		s += "//"
		if ui := uriUserInfo(u); ui != "" {
			s += ui + "@"
		}
		return s + uriAuthority(u) + uriPath(u) + uriQuery(u) + uriFragment(u)
	},
	"authority":   uriAuthority,
	"dnssafehost": func(u *url.URL) string { return strings.ToLower(u.Hostname()) },
	"fragment":    uriFragment,
	"host":        uriHost,
	"hostandport": func(u *url.URL) string { return uriHost(u) + ":" + strconv.Itoa(uriPort(u)) },
	"hostnametype": func(u *url.URL) string {
		h := u.Hostname()
		ip := net.ParseIP(h)
		switch {
		case h == "":
			return "Basic"
		case ip != nil && ip.To4() != nil && !strings.Contains(h, ":"):
			return "IPv4"
		case ip != nil:
			return "IPv6"
		}
		return "Dns"
	},
	"isdefaultport": func(u *url.URL) string { return strconv.FormatBool(isDefaultPort(u)) },
	"isfile":        func(u *url.URL) string { return strconv.FormatBool(strings.EqualFold(u.Scheme, "file")) },
	"isloopback": func(u *url.URL) string {
		h := u.Hostname()
		ip := net.ParseIP(h)
		return strconv.FormatBool(strings.EqualFold(h, "localhost") || ip != nil && ip.IsLoopback() ||
			strings.EqualFold(u.Scheme, "file") && h == "")
	},
	"isunc": func(u *url.URL) string {
		return strconv.FormatBool(strings.EqualFold(u.Scheme, "file") && u.Host != "")
	},
	"path": func(u *url.URL) string {
		if strings.EqualFold(u.Scheme, "file") && u.Host != "" {
			return `\\` + u.Host + strings.ReplaceAll(u.Path, "/", `\`)
		}
		if u.Path == "" && u.Host != "" {
			return "/"
		}
		return u.Path
	},
	"pathandquery":    func(u *url.URL) string { return uriPath(u) + uriQuery(u) },
	"port":            func(u *url.URL) string { return strconv.Itoa(uriPort(u)) },
	"query":           uriQuery,
	"scheme":          func(u *url.URL) string { return strings.ToLower(u.Scheme) },
	"schemeandserver": schemeAndServer,
	"userinfo":        uriUserInfo,
}
