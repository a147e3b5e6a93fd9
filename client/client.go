// Package client is a Go client for a ferry server's HTTP API. Each
// method calls one route declared in package
// github.com/ferrydeploy/ferry/api (FollowTask calls one repeatedly) and
// answers that package's types; the
// ferry command line talks to servers only through it.
//
//	c := client.New("https://ferry.example.com", os.Getenv("FERRY_API_KEY"))
//	rel, err := c.CreateRelease(ctx, "Default", "Shop", api.CreateReleaseRequest{Version: "1.2.0"})
//	if errors.Is(err, client.ErrNotFound) {
//		// no project Shop in space Default
//	}
//
// Deploy queues a deployment; FollowTask passes its log lines as they come
// and returns the task when it has ended:
//
//	d, err := c.Deploy(ctx, "Default", api.DeployRequest{Project: "Shop", Version: "1.2.0", Environment: "Test"})
//	...
//	task, err := c.FollowTask(ctx, "Default", d.TaskID, func(l api.LogLine) { fmt.Println(l.Text) })
//	if err == nil && task.State != api.TaskSuccess {
//		// the deployment failed: task.Error says why
//	}
//
// An error the server answers keeps its kind: errors.Is(err,
// client.ErrForbidden), or KindOf(err) == api.KindForbidden. A server
// that cannot be reached is KindUnreachable.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ferrydeploy/ferry/api"
)

// Client calls one ferry server as one user. Its zero value is not
// usable; make one with New.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	APIKey  string
	// HTTP sends the requests. Its Timeout bounds calls that answer
	// JSON; uploads and downloads of files take as long as their size
	// needs (the context cancels them), on its Transport.
	HTTP *http.Client

	routes api.RouteSet
}

// New returns a client for the server at baseURL that calls it with
// apiKey (a user's API key; "" for the few routes that need none).
func New(baseURL, apiKey string) *Client {
	return &Client{
		BaseURL: strings.TrimRight(baseURL, "/"),
		APIKey:  apiKey,
		HTTP:    &http.Client{Timeout: 5 * time.Minute},
		routes:  api.Routes(),
	}
}

// call sends in (as the JSON body, or as query parameters when the route
// takes none) to route and decodes the JSON answer.
func call[In, Out any](ctx context.Context, c *Client, route api.Route[In, Out], in In, params ...string) (Out, error) {
	var out Out
	op := route.Operation()
	var body io.Reader
	if op.JSONBody() {
		data, err := json.Marshal(in)
		if err != nil {
			return out, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	resp, err := c.send(ctx, c.HTTP, op, in, params, body, -1)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	return out, decodeAnswer(resp, op, &out)
}

// upload streams body (size bytes, or -1 when not known) to route, with
// in as query parameters, and decodes the JSON answer.
func upload[In, Out any](ctx context.Context, c *Client, route api.Route[In, Out], in In, body io.Reader, size int64, params ...string) (Out, error) {
	var out Out
	op := route.Operation()
	resp, err := c.send(ctx, c.streaming(), op, in, params, body, size)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	return out, decodeAnswer(resp, op, &out)
}

// download calls a route that answers a file and copies the file to w as
// it arrives; it returns the answer's headers.
func download[In any](ctx context.Context, c *Client, route api.Route[In, api.File], in In, w io.Writer, params ...string) (http.Header, error) {
	op := route.Operation()
	var body io.Reader
	if op.JSONBody() {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(data)
	}
	resp, err := c.send(ctx, c.streaming(), op, in, params, body, -1)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, &answerBody{r: resp.Body}); err != nil {
		var cut *cutOff
		if errors.As(err, &cut) {
			return resp.Header, c.unreachable(cut.err)
		}
		return resp.Header, err
	}
	return resp.Header, nil
}

// fetch calls a route that answers a small file and returns it whole.
func fetch[In any](ctx context.Context, c *Client, route api.Route[In, api.File], in In, params ...string) ([]byte, http.Header, error) {
	var buf bytes.Buffer
	h, err := download(ctx, c, route, in, &buf, params...)
	return buf.Bytes(), h, err
}

// send makes the request and returns the answer when it succeeded; an
// error answer becomes an *Error.
func (c *Client) send(ctx context.Context, hc *http.Client, op api.Operation, in any, params []string, body io.Reader, size int64) (*http.Response, error) {
	u, err := c.url(op, in, params)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, op.Method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	switch {
	case op.Upload != "":
		req.ContentLength = size
		req.Header.Set("Content-Type", op.Upload)
	case body != nil:
		req.Header.Set("Content-Type", api.MediaJSON)
	}
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.unreachable(err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, errorOf(resp)
	}
	return resp, nil
}

// url is the route's path with params in place of its {parameters}, and
// in as the query string when it is not the body.
func (c *Client) url(op api.Operation, in any, params []string) (string, error) {
	names := op.Params()
	if len(names) != len(params) {
		return "", fmt.Errorf("%s needs %d path parameters (%s), got %d", op.Pattern(), len(names), strings.Join(names, ", "), len(params))
	}
	path := op.Path
	for i, name := range names {
		if params[i] == "" {
			return "", fmt.Errorf("%s: %s is empty", op.Pattern(), name)
		}
		path = strings.Replace(path, "{"+name+"}", pathSegment(params[i]), 1)
	}
	if !op.JSONBody() {
		if q := query(in).Encode(); q != "" {
			path += "?" + q
		}
	}
	return c.BaseURL + path, nil
}

// pathSegment escapes a path parameter. A name that is a dot segment
// ("." or "..") has its dots escaped too: sent as it is, the server would
// clean it away and redirect the request to another route — DELETE
// .../variables/.. to DELETE the project (RFC 3986 §5.2.4).
func pathSegment(s string) string {
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s))
	}
	return url.PathEscape(s)
}

// query encodes the fields of in tagged `query:"name"` that are not zero.
func query(in any) url.Values {
	q := url.Values{}
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Struct {
		return q
	}
	for i := range v.NumField() {
		name, f := v.Type().Field(i).Tag.Get("query"), v.Field(i)
		if name == "" || f.IsZero() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			q.Set(name, f.String())
		case reflect.Bool:
			q.Set(name, strconv.FormatBool(f.Bool()))
		case reflect.Int, reflect.Int64:
			q.Set(name, strconv.FormatInt(f.Int(), 10))
		}
	}
	return q
}

func decodeAnswer(resp *http.Response, op api.Operation, out any) error {
	if err := json.NewDecoder(&answerBody{r: resp.Body}).Decode(out); err != nil {
		return fmt.Errorf("decode the answer of %s: %w", op.Pattern(), err)
	}
	return nil
}

// streaming is an HTTP client without an overall timeout, for files.
func (c *Client) streaming() *http.Client {
	hc := &http.Client{}
	if c.HTTP != nil {
		hc.Transport = c.HTTP.Transport
	}
	return hc
}

// answerBody tells errors reading an answer (the connection was cut off)
// from errors writing it where it goes.
type answerBody struct{ r io.Reader }

type cutOff struct{ err error }

func (e *cutOff) Error() string { return e.err.Error() }
func (e *cutOff) Unwrap() error { return e.err }

func (b *answerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &cutOff{err}
	}
	return n, err
}
