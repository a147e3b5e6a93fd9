package api

import (
	"net/http"
	"reflect"
	"strings"
	"unicode"
)

// Route declares one endpoint of the API. In is what a call sends: the
// JSON request body, or — for a request without a JSON body (a GET, or an
// upload whose body is a file) — its query parameters, a struct whose
// fields carry `query:"name"` tags. Out is the JSON answer, or File for an
// answer that is a file. None stands for nothing.
//
// Path parameters ({space}, {project}, ...) are strings, except {id},
// which is a positive integer.
type Route[In, Out any] struct {
	Op
}

// Op is what a Route says besides its types.
type Op struct {
	// Name is the route's field name in RouteSet ("CreateRelease"), set by
	// Routes. Its operationId in the OpenAPI document is the same in lower
	// camel case, and the client's method has the same name: both stay as
	// long as the field keeps its name.
	Name   string
	Method string
	// Path is the path pattern, as net/http's ServeMux writes it:
	// "/api/spaces/{space}/releases".
	Path string
	// Permission is who may call it.
	Permission Permission
	// Summary says in one line what it does.
	Summary string
	// Status is the status of a successful answer (0: 200 OK).
	Status int
	// Upload is the media type of a request body that is a file, sent and
	// read as a stream ("" when the body is JSON or there is none).
	Upload string
	// Download is the media type of an answer that is a file (Out is File).
	Download string
	// Headers are headers of a successful answer that carry information.
	Headers []Header
	// RequestHeaders are headers the request must carry.
	RequestHeaders []Header
	// Also are other successful answers than the usual one.
	Also []Answer
}

// Header is a documented HTTP header.
type Header struct {
	Name        string
	Description string
}

// Answer is another successful answer a route may give: Out, or with
// File a file of MediaType.
type Answer struct {
	Status      int
	MediaType   string
	Description string
	File        bool
}

// None is the In or Out of a route that sends or answers nothing.
type None struct{}

// File is the Out of a route whose answer is a file (see Op.Download),
// read as a stream.
type File struct{}

// Permission says who may call a route: one of a space's permissions
// (PermView ... PermAdministerSpace, granted by a team's role in the space
// named by the path), or one of the other values below.
type Permission string

const (
	PermView            Permission = "view"             // see the space and its projects
	PermEditProject     Permission = "edit-project"     // edit a project's process and variables
	PermCreateRelease   Permission = "create-release"   // create releases, push packages
	PermDeploy          Permission = "deploy"           // deploy, cancel, export receipts
	PermPromote         Permission = "promote"          // promote to other spaces
	PermAdministerSpace Permission = "administer-space" // everything in the space: trust, imports, teams

	PermAdmin     Permission = "admin"     // system administrators only
	PermSelf      Permission = "self"      // the user named in the path, or an administrator
	PermUser      Permission = "user"      // anyone with an API key (each sees what they may)
	PermAnyone    Permission = "anyone"    // no API key needed
	PermSignature Permission = "signature" // a connected space: no API key, the body is signed
)

// Authenticated reports whether a route with this permission needs an API
// key.
func (p Permission) Authenticated() bool { return p != PermAnyone && p != PermSignature }

// Endpoint is any Route, for code that walks every route.
type Endpoint interface {
	Operation() Operation
}

// Operation is a route with the Go types of what it sends and answers.
type Operation struct {
	Op
	In, Out reflect.Type
}

// Operation implements Endpoint.
func (r Route[In, Out]) Operation() Operation {
	return Operation{Op: r.Op, In: reflect.TypeFor[In](), Out: reflect.TypeFor[Out]()}
}

// Pattern is the route's ServeMux pattern: "GET /api/spaces/{space}".
func (o Op) Pattern() string { return o.Method + " " + o.Path }

// Succeeded is the status of a successful answer.
func (o Op) Succeeded() int {
	if o.Status == 0 {
		return http.StatusOK
	}
	return o.Status
}

// Params lists the path parameters in order: "space", "project".
func (o Op) Params() []string {
	var names []string
	rest := o.Path
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(rest[i:], '}')
		names = append(names, strings.TrimSuffix(rest[i+1:i+j], "..."))
		rest = rest[i+j:]
	}
}

// JSONBody reports whether In is sent as a JSON request body (rather than
// as query parameters).
func (o Operation) JSONBody() bool {
	return o.Method != http.MethodGet && o.Upload == "" && o.In != reflect.TypeFor[None]()
}

// ID is the route's operationId: its name in lower camel case.
func (o Operation) ID() string {
	r := []rune(o.Name)
	if len(r) > 0 {
		r[0] = unicode.ToLower(r[0])
	}
	return string(r)
}

// Endpoints returns every route of set, in declaration order.
func Endpoints(set RouteSet) []Operation {
	v := reflect.ValueOf(set)
	ops := make([]Operation, 0, v.NumField())
	for i := range v.NumField() {
		ops = append(ops, v.Field(i).Interface().(Endpoint).Operation())
	}
	return ops
}

// named sets each route's Name to its field's name.
func (r *RouteSet) named() {
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		v.Field(i).FieldByName("Name").SetString(v.Type().Field(i).Name)
	}
}
