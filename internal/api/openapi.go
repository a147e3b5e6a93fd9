package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	wire "github.com/ferrydeploy/ferry/api"
)

// openAPI builds the OpenAPI 3 document of the bound routes: one
// operation per route, its parameters, request body and answers with
// schemas generated from the declared types (component schemas named as
// the types of package api), the error body of every error answer, and
// who may call it (x-ferry-permission; a bearer API key unless the route
// needs none).
func openAPI(bound []binding) ([]byte, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:   "ferry",
			Version: "1",
			Description: "The HTTP API of a ferry server. Every error answer is " +
				`{"error": "...", "kind": "..."}` + " with the status of its kind. " +
				"Routes under /api/v1/transfer are the connected-space protocol: no API key, the body is signed.",
		},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"apiKey": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("ferry API key")},
			},
		},
	}
	s := &schemas{doc: doc, gen: openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
		openapi3gen.SchemaCustomizer(nullableLists))}
	errRef, err := s.of(reflect.TypeFor[wire.ErrorBody]())
	if err != nil {
		return nil, err
	}
	kinds := doc.Components.Schemas["ErrorBody"].Value.Properties["kind"].Value
	for _, k := range wire.Kinds {
		kinds.Enum = append(kinds.Enum, string(k))
	}
	for _, b := range bound {
		op, err := s.operation(b.op, errRef)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.op.Pattern(), err)
		}
		item := doc.Paths.Value(b.op.Path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(b.op.Path, item)
		}
		item.SetOperation(b.op.Method, op)
	}
	return json.MarshalIndent(doc, "", "  ")
}

// pathParams describes each path parameter a route may have.
var pathParams = map[string]string{
	"space":   "a space's name",
	"project": `a project's name (a remote project's is "<origin space>: <project>")`,
	"version": "a release's or a package's version",
	"id":      "a task's, a delivery's or an API key's number",
	"name":    "the name of a remote space, a user or a team",
	"package": "a package's id",
}

type schemas struct {
	doc *openapi3.T
	gen *openapi3gen.Generator
}

// of returns the schema of t, adding the component schemas it needs.
func (s *schemas) of(t reflect.Type) (*openapi3.SchemaRef, error) {
	return s.gen.NewSchemaRefForValue(reflect.New(t).Elem().Interface(), s.doc.Components.Schemas)
}

func (s *schemas) operation(o wire.Operation, errRef *openapi3.SchemaRef) (*openapi3.Operation, error) {
	op := &openapi3.Operation{
		OperationID: o.ID(),
		Summary:     o.Summary,
		Tags:        []string{tag(o.Path)},
		Extensions:  map[string]any{"x-ferry-permission": string(o.Permission)},
		Responses:   openapi3.NewResponses(),
	}
	if !o.Permission.Authenticated() {
		op.Security = &openapi3.SecurityRequirements{}
	} else {
		op.Security = &openapi3.SecurityRequirements{openapi3.NewSecurityRequirement().Authenticate("apiKey")}
	}
	for _, name := range o.Params() {
		about, ok := pathParams[name]
		if !ok {
			return nil, fmt.Errorf("path parameter {%s} is not described: add it to pathParams", name)
		}
		p := openapi3.NewPathParameter(name).WithDescription(about).WithSchema(openapi3.NewStringSchema())
		if name == "id" {
			p.Schema = openapi3.NewInt64Schema().WithMin(1).NewRef()
		}
		op.AddParameter(p)
	}
	for _, h := range o.RequestHeaders {
		op.AddParameter(openapi3.NewHeaderParameter(h.Name).WithDescription(h.Description).WithRequired(true).WithSchema(openapi3.NewStringSchema()))
	}
	if err := s.request(op, o); err != nil {
		return nil, err
	}
	ok := &openapi3.Response{Description: ptr(o.Summary)}
	switch {
	case o.Out == reflect.TypeFor[wire.File]():
		ok.Content = openapi3.NewContentWithSchema(binary(), []string{o.Download})
	case o.Out != reflect.TypeFor[wire.None]():
		ref, err := s.of(o.Out)
		if err != nil {
			return nil, err
		}
		ok.Content = openapi3.NewContentWithJSONSchemaRef(ref)
	}
	if len(o.Headers) > 0 {
		ok.Headers = openapi3.Headers{}
		for _, h := range o.Headers {
			ok.Headers[h.Name] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{Description: h.Description, Schema: openapi3.NewStringSchema().NewRef()}}}
		}
	}
	op.Responses.Set(strconv.Itoa(o.Succeeded()), &openapi3.ResponseRef{Value: ok})
	for _, a := range o.Also {
		also := &openapi3.Response{Description: ptr(a.Description), Headers: ok.Headers, Content: ok.Content}
		if a.File {
			also.Content = openapi3.NewContentWithSchema(binary(), []string{a.MediaType})
		}
		op.Responses.Set(strconv.Itoa(a.Status), &openapi3.ResponseRef{Value: also})
	}
	op.Responses.Set("default", &openapi3.ResponseRef{Value: &openapi3.Response{
		Description: ptr("an error: its kind says which, and so does the status (invalid 400, unauthorized 401, forbidden and untrusted 403, not_found 404, conflict 409, too_many_requests 429, internal 500, unavailable 503)"),
		Content:     openapi3.NewContentWithJSONSchemaRef(errRef),
	}})
	return op, nil
}

// request adds what a request sends: a JSON body, a file, query parameters.
func (s *schemas) request(op *openapi3.Operation, o wire.Operation) error {
	switch {
	case o.JSONBody():
		ref, err := s.of(o.In)
		if err != nil {
			return err
		}
		op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).WithJSONSchemaRef(ref)}
		return nil
	case o.Upload != "":
		op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithContent(openapi3.NewContentWithSchema(binary(), []string{o.Upload}))}
	}
	if o.In.Kind() != reflect.Struct {
		return fmt.Errorf("query parameters of type %s: want a struct", o.In)
	}
	for i := range o.In.NumField() {
		f := o.In.Field(i)
		name := f.Tag.Get("query")
		if name == "" {
			return fmt.Errorf("field %s of %s has no query tag", f.Name, o.In)
		}
		var schema *openapi3.Schema
		switch f.Type.Kind() {
		case reflect.String:
			schema = openapi3.NewStringSchema()
		case reflect.Bool:
			schema = openapi3.NewBoolSchema()
		case reflect.Int, reflect.Int64:
			schema = openapi3.NewInt64Schema()
		default:
			return fmt.Errorf("query parameter %s is a %s", name, f.Type)
		}
		about := f.Tag.Get("doc")
		if about == "" {
			return fmt.Errorf("query parameter %s of %s has no doc tag", name, o.In)
		}
		op.AddParameter(openapi3.NewQueryParameter(name).WithDescription(about).WithSchema(schema))
	}
	return nil
}

// tag groups operations by what they are about: the path's segment after
// the space, or after /api.
func tag(path string) string {
	rest := strings.TrimPrefix(path, "/api/")
	if r, ok := strings.CutPrefix(rest, "spaces/{space}/"); ok {
		rest = r
		if r, ok := strings.CutPrefix(rest, "projects/{project}/"); ok {
			rest = r
		}
	}
	if r, ok := strings.CutPrefix(rest, "v1/"); ok {
		rest = r
	}
	seg, _, _ := strings.Cut(rest, "/")
	if seg == "{space}" {
		return "spaces"
	}
	return seg
}

// nullableLists says that a list or map may be null: Go encodes an empty
// one so unless the field is omitted when empty.
func nullableLists(name string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
	if (t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8) || t.Kind() == reflect.Map {
		s.Nullable = true
	}
	return nil
}

func binary() *openapi3.Schema { return openapi3.NewStringSchema().WithFormat("binary") }

func ptr[T any](v T) *T { return &v }
