package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// streaming is an HTTP client without an overall timeout: uploads and
// downloads of packages take as long as their size needs; the context
// cancels them.
func (c *Client) streaming() *http.Client {
	hc := &http.Client{}
	if c.HTTP != nil {
		hc.Transport = c.HTTP.Transport
	}
	return hc
}

// Upload sends body as the request body without reading it into memory
// (size is its length, or -1 when unknown) and decodes the JSON answer into
// out.
func (c *Client) Upload(ctx context.Context, method, path string, body io.Reader, size int64, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	c.authorize(req)
	resp, err := c.streaming().Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the ferry server at %s (is it running? set --server or FERRY_SERVER): %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if err := errorOf(resp, data); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response of %s %s: %w", method, path, err)
	}
	return nil
}

// Download sends body as JSON (none when nil) and copies the answer to w
// as it arrives. It returns the response headers.
func (c *Client) Download(ctx context.Context, method, path string, body any, w io.Writer) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.authorize(req)
	resp, err := c.streaming().Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the ferry server at %s (is it running? set --server or FERRY_SERVER): %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.Header, errorOf(resp, data)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return resp.Header, fmt.Errorf("download %s: %w", path, err)
	}
	return resp.Header, nil
}

func (c *Client) authorize(req *http.Request) {
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
}

// errorOf turns an error answer into an *Error.
func errorOf(resp *http.Response, data []byte) error {
	if resp.StatusCode < 300 {
		return nil
	}
	e := &Error{Status: resp.StatusCode}
	if json.Unmarshal(data, e) != nil || e.Message == "" {
		e.Message = fmt.Sprintf("server answered %s", resp.Status)
	}
	return e
}
