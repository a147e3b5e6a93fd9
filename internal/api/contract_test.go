package api

import (
	"context"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/getkin/kin-openapi/routers"

	wire "github.com/ferrydeploy/ferry/api"
	"github.com/ferrydeploy/ferry/internal/compat"
	"github.com/ferrydeploy/ferry/internal/domain"
	"github.com/ferrydeploy/ferry/internal/packages"
	"github.com/ferrydeploy/ferry/internal/transport"
)

// TestEveryRouteBound: every declared route has exactly one handler, and
// every handler serves a declared route.
func TestEveryRouteBound(t *testing.T) {
	bound := map[string]int{}
	for _, b := range (&handler{}).routes().bound {
		bound[b.op.Pattern()]++
	}
	declared := map[string]bool{}
	for _, op := range wire.Endpoints(wire.Routes()) {
		p := op.Pattern()
		if declared[p] {
			t.Errorf("%s is declared twice", p)
		}
		declared[p] = true
		if bound[p] != 1 {
			t.Errorf("route %s (%s) has %d handlers; bind one in routes()", op.Name, p, bound[p])
		}
	}
	for p := range bound {
		if !declared[p] {
			t.Errorf("%s has a handler but is not declared in package api", p)
		}
	}
}

// TestContract holds each handler to its declaration: the types it reads
// and answers encode to the same JSON fields, of the same JSON types, as
// the public types of package api that the OpenAPI document and the
// client use. A field added to a service's type fails here until the
// public type has it too.
func TestContract(t *testing.T) {
	for _, b := range (&handler{}).routes().bound {
		op := b.op
		in, out := b.in, b.out
		if r, ok := reflect.New(out).Elem().Interface().(interface{ replyOf() reflect.Type }); ok {
			out = r.replyOf()
		}
		switch {
		case op.Out == reflect.TypeFor[wire.File]():
			if out != reflect.TypeFor[file]() {
				t.Errorf("%s answers a file (%s) but its handler answers %s", op.Pattern(), op.Download, out)
			}
		case op.Out == reflect.TypeFor[wire.Health]() && out == reflect.TypeFor[any]():
			// services.Set.Health answers any; TestOpenAPIAnswers checks it.
		default:
			sameJSON(t, op.Pattern()+" answer", out, op.Out)
		}
		if op.Out == reflect.TypeFor[wire.File]() && op.Download == "" || op.Out != reflect.TypeFor[wire.File]() && op.Download != "" {
			t.Errorf("%s: Download %q and Out %s disagree", op.Pattern(), op.Download, op.Out)
		}
		if op.JSONBody() {
			sameJSON(t, op.Pattern()+" request", in, op.In)
		} else if in != op.In {
			t.Errorf("%s reads %s, not the declared %s", op.Pattern(), in, op.In)
		}
	}
	// Answered in a header (wire.HeaderTransfer).
	sameJSON(t, "package export summary", reflect.TypeFor[packages.ExportSummary](), reflect.TypeFor[wire.TransferSummary]())
}

// sameJSON fails unless internal and public encode to the same JSON
// fields and types.
func sameJSON(t *testing.T, what string, internal, public reflect.Type) {
	t.Helper()
	got, want := jsonShape(t, internal), jsonShape(t, public)
	if slices.Equal(got, want) {
		return
	}
	var missing, extra []string
	for _, l := range got {
		if !slices.Contains(want, l) {
			missing = append(missing, l)
		}
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			extra = append(extra, l)
		}
	}
	t.Errorf("%s: %s and %s differ\n  only the server's type has: %s\n  only the declared type has: %s",
		what, internal, public, strings.Join(missing, ", "), strings.Join(extra, ", "))
}

// jsonShape lists every JSON path of t with its JSON type: "snapshot.process[].name string".
func jsonShape(t *testing.T, typ reflect.Type) []string {
	t.Helper()
	// Types that encode themselves are described by the public type that
	// mirrors their encoding.
	encodedAs := map[reflect.Type]reflect.Type{
		reflect.TypeFor[domain.Variable](): reflect.TypeFor[wire.Variable](),
		reflect.TypeFor[packages.Hash]():   reflect.TypeFor[string](),
	}
	var gen *openapi3gen.Generator
	gen = openapi3gen.NewGenerator(openapi3gen.SchemaCustomizer(func(name string, ft reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
		if as, ok := encodedAs[ft]; ok {
			ref, err := openapi3gen.NewSchemaRefForValue(reflect.New(as).Elem().Interface(), nil)
			if err != nil {
				return err
			}
			*s = *ref.Value
		}
		return nil
	}))
	ref, err := gen.NewSchemaRefForValue(reflect.New(typ).Elem().Interface(), nil)
	if err != nil {
		t.Fatalf("schema of %s: %v", typ, err)
	}
	var lines []string
	var walk func(path string, s *openapi3.SchemaRef)
	walk = func(path string, s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil {
			lines = append(lines, path+" ?")
			return
		}
		v := s.Value
		typ := "any"
		if v.Type != nil && len(*v.Type) > 0 {
			typ = (*v.Type)[0]
		}
		if v.Format != "" {
			typ += "/" + v.Format
		}
		if v.Nullable {
			typ += "|null"
		}
		if path != "" {
			lines = append(lines, path+" "+typ)
		}
		for name, p := range v.Properties {
			walk(strings.TrimPrefix(path+"."+name, "."), p)
		}
		if v.Items != nil {
			walk(path+"[]", v.Items)
		}
		if v.AdditionalProperties.Schema != nil {
			walk(path+"{}", v.AdditionalProperties.Schema)
		}
	}
	walk("", ref)
	if len(lines) == 0 {
		lines = []string{"(root)"}
	}
	sort.Strings(lines)
	return lines
}

// TestOpenAPIDocument: /api/openapi.json needs no key, validates as
// OpenAPI 3, and has every bound route with its schemas, a unique and
// stable operationId, and every parameter described.
func TestOpenAPIDocument(t *testing.T) {
	srv, _ := newTestAPI(t)
	doc := loadDocument(t, srv.URL)
	ops := 0
	for _, item := range doc.Paths.Map() {
		ops += len(item.Operations())
	}
	bound := (&handler{}).routes().bound
	if ops != len(bound) {
		t.Errorf("the document has %d operations, the router %d routes", ops, len(bound))
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if other, ok := ids[op.OperationID]; ok {
				t.Errorf("operationId %q of %s %s is also %s's", op.OperationID, method, path, other)
			}
			ids[op.OperationID] = method + " " + path
		}
	}
	// A client generated from the document names its methods after the
	// operationIds: they are the route names, and stay.
	for id, op := range map[string]string{"createRelease": "POST " + wire.Routes().CreateRelease.Path, "listSpaces": "GET /api/spaces", "taskLog": "GET " + wire.Routes().TaskLog.Path} {
		if ids[id] != op {
			t.Errorf("operationId %s is %q, want %s", id, ids[id], op)
		}
	}
	for _, b := range bound {
		o := b.op
		item := doc.Paths.Value(o.Path)
		if item == nil || item.GetOperation(o.Method) == nil {
			t.Errorf("%s is missing from the document", o.Pattern())
			continue
		}
		op := item.GetOperation(o.Method)
		if op.OperationID == "" || op.OperationID != o.ID() || op.Extensions["x-ferry-permission"] != string(o.Permission) {
			t.Errorf("%s: operationId %q (want %q), permission %v", o.Pattern(), op.OperationID, o.ID(), op.Extensions["x-ferry-permission"])
		}
		for _, p := range op.Parameters {
			if p.Value.Description == "" {
				t.Errorf("%s: parameter %s (in %s) is not described", o.Pattern(), p.Value.Name, p.Value.In)
			}
		}
		ok := op.Responses.Status(o.Succeeded())
		if ok == nil || ok.Value.Content == nil {
			t.Errorf("%s: no schema for its %d answer", o.Pattern(), o.Succeeded())
		}
		if (o.JSONBody() || o.Upload != "") && (op.RequestBody == nil || op.RequestBody.Value.Content == nil) {
			t.Errorf("%s: no request body schema", o.Pattern())
		}
		if op.Responses.Default() == nil {
			t.Errorf("%s: no error answer", o.Pattern())
		}
	}
}

func loadDocument(t *testing.T, base string) *openapi3.T {
	t.Helper()
	resp, err := http.Get(base + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wire.MediaJSON {
		t.Fatalf("GET /api/openapi.json without a key: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// TestOpenAPIAnswers: what a real server answers validates against the
// document, for every JSON route an administrator may GET.
func TestOpenAPIAnswers(t *testing.T) {
	srv, keys := newTestAPI(t)
	doc := loadDocument(t, srv.URL)
	checked := 0
	for _, b := range (&handler{}).routes().bound {
		o := b.op
		if o.Method != http.MethodGet || o.Out == reflect.TypeFor[wire.File]() {
			continue
		}
		path := strings.NewReplacer("{space}", "Default", "{project}", "Shop", "{version}", "1.0.0",
			"{id}", "1", "{package}", "web", "{name}", "sysadmin").Replace(o.Path)
		req, _ := http.NewRequest(o.Method, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+keys["sysadmin"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		item := doc.Paths.Value(o.Path)
		in := &openapi3filter.RequestValidationInput{Request: req, Route: &routers.Route{Spec: doc, Path: o.Path, PathItem: item, Method: o.Method, Operation: item.GetOperation(o.Method)}}
		err = openapi3filter.ValidateResponse(context.Background(), (&openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}).SetBodyBytes(body))
		if err != nil {
			t.Errorf("%s answered %d, not as documented: %v\n%s", o.Pattern(), resp.StatusCode, err, body)
		}
		if resp.StatusCode == http.StatusOK {
			checked++
		}
	}
	if checked < 20 {
		t.Errorf("only %d answers were 200 and checked", checked)
	}
}

// TestKindsHaveStatuses: every error kind the services use is one the
// contract knows (wire.Kinds), so it has a status and a client knows it.
func TestKindsHaveStatuses(t *testing.T) {
	src, err := os.ReadFile("../domain/errors.go")
	if err != nil {
		t.Fatal(err)
	}
	found := regexp.MustCompile(`(?m)^\s*Kind\w+\s+Kind = "(\w+)"`).FindAllStringSubmatch(string(src), -1)
	if len(found) < 5 {
		t.Fatalf("found only %d kinds in domain/errors.go", len(found))
	}
	for _, m := range found {
		if !slices.Contains(wire.Kinds, wire.Kind(m[1])) {
			t.Errorf("domain kind %q is not in api.Kinds: add it, with its status", m[1])
		}
	}
}

// TestTransferPaths: the connected-space client sends to the declared
// transfer routes.
func TestTransferPaths(t *testing.T) {
	r := wire.Routes()
	for got, want := range map[string]string{
		transport.PathBundles: r.TransferBundle.Path, transport.PathReceipts: r.TransferReceipts.Path,
		transport.PathChunksMissing: r.TransferChunks.Path, transport.PathPackages: r.TransferPackages.Path,
		compat.Path: r.TransferSchema.Path, compat.Header: wire.HeaderSchema,
		transport.HeaderSender: wire.HeaderSender, transport.HeaderTarget: wire.HeaderTarget,
	} {
		if got != want {
			t.Errorf("internal/transport uses %s, the declaration %s", got, want)
		}
	}
}
