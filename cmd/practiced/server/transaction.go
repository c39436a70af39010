package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/examlane/examlane/lane"
)

// maxTransactionBytes and maxTransactionEntries bound one transaction.
const (
	maxTransactionBytes   = 64 << 20
	maxTransactionEntries = 1000
)

// txEntry is one entry of a transaction Bundle as received.
type txEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  struct {
		Method      string `json:"method"`
		URL         string `json:"url"`
		IfNoneExist string `json:"ifNoneExist"`
		IfMatch     string `json:"ifMatch"`
	} `json:"request"`
}

// txBundle is a transaction Bundle as received.
type txBundle struct {
	ResourceType string    `json:"resourceType"`
	Type         string    `json:"type"`
	Entry        []txEntry `json:"entry"`
}

// txOp is one checked entry, ready to run.
type txOp struct {
	method   string
	typ, id  string
	res      map[string]any
	fullURL  string
	ifNone   string
	ifMatch  string
	result   stored
	created  bool
	existing bool
}

// parseTransaction decodes and checks a transaction Bundle.
func parseTransaction(body []byte) ([]*txOp, error) {
	var b txBundle
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&b); err != nil {
		return nil, lane.Invalidf("transaction: %s", jsonErr(err))
	}
	if b.ResourceType != "Bundle" {
		return nil, lane.Invalidf("POST to the base needs a Bundle")
	}
	if b.Type != "transaction" {
		return nil, lane.Invalidf("Bundle.type %q is not supported (transaction only)", truncate(b.Type, 20))
	}
	if len(b.Entry) > maxTransactionEntries {
		return nil, lane.Invalidf("transaction: more than %d entries", maxTransactionEntries)
	}
	ops := make([]*txOp, 0, len(b.Entry))
	fullURLs := map[string]bool{}
	for i, e := range b.Entry {
		op := &txOp{method: e.Request.Method, fullURL: e.FullURL, ifNone: e.Request.IfNoneExist, ifMatch: e.Request.IfMatch}
		if op.fullURL != "" {
			if fullURLs[op.fullURL] {
				return nil, lane.Invalidf("entry %d: duplicate fullUrl", i)
			}
			fullURLs[op.fullURL] = true
		}
		u := strings.TrimPrefix(strings.Trim(e.Request.URL, "/"), strings.TrimPrefix(fhirBase, "/")+"/")
		if strings.ContainsAny(u, "?#") {
			return nil, lane.Invalidf("entry %d: conditional and query URLs are not supported", i)
		}
		parts := strings.Split(u, "/")
		switch op.method {
		case http.MethodPost:
			if len(parts) != 1 {
				return nil, lane.Invalidf("entry %d: POST url must be <Type>", i)
			}
		case http.MethodPut, http.MethodDelete:
			if len(parts) != 2 || !validID(parts[1]) {
				return nil, lane.Invalidf("entry %d: %s url must be <Type>/<id>", i, op.method)
			}
			op.id = parts[1]
		default:
			return nil, lane.Invalidf("entry %d: request.method must be POST, PUT or DELETE", i)
		}
		op.typ = parts[0]
		if !knownType(op.typ) {
			return nil, lane.Invalidf("entry %d: resource type %q is not supported", i, truncate(op.typ, 40))
		}
		if op.method == http.MethodDelete {
			ops = append(ops, op)
			continue
		}
		if len(e.Resource) == 0 {
			return nil, lane.Invalidf("entry %d: missing resource", i)
		}
		m, err := parseResource(e.Resource)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if m["resourceType"] != op.typ {
			return nil, lane.Invalidf("entry %d: resourceType does not match request.url", i)
		}
		if op.method == http.MethodPost {
			delete(m, "id")
		}
		op.res = m
		ops = append(ops, op)
	}
	return ops, nil
}

// transaction handles POST /fhir/R4 with a transaction Bundle: every entry
// or none, in one SQL transaction, in FHIR order (DELETE, POST, PUT), with
// urn:uuid references of POSTed entries rewritten to the assigned ids.
func (s *Server) transaction(w http.ResponseWriter, r *http.Request) {
	if !isJSONType(r.Header.Get("Content-Type")) {
		s.writeError(w, r, lane.Invalidf("Content-Type must be application/fhir+json"))
		return
	}
	body, err := readBody(w, r, maxTransactionBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ops, err := parseTransaction(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	err = s.withWrite(ctx, callerOf(ctx), func(wc *writeCtx) error {
		for i, op := range ops {
			if op.method == http.MethodDelete {
				st, err := wc.remove(ctx, op.typ, op.id, op.ifMatch)
				if err != nil {
					return fmt.Errorf("entry %d: %w", i, err)
				}
				op.result = st
			}
		}
		// Resolve POST targets first so that references can be rewritten.
		repl := map[string]string{}
		keys := map[string]*txOp{}
		for i, op := range ops {
			if op.method != http.MethodPost {
				continue
			}
			prior, key, err := wc.lookupIfNoneExist(ctx, op.typ, op.ifNone)
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			switch {
			case prior != nil:
				op.result, op.existing, op.id = *prior, true, prior.ID
			case key != "" && keys[op.typ+" "+key] != nil:
				op.existing, op.id = true, keys[op.typ+" "+key].id
			default:
				op.id = lane.NewID()
				op.ifNone = key
				if key != "" {
					keys[op.typ+" "+key] = op
				}
			}
			if op.fullURL != "" {
				repl[op.fullURL] = op.typ + "/" + op.id
			}
		}
		for _, op := range ops {
			if op.res != nil && len(repl) > 0 {
				rewriteRefs(op.res, repl)
			}
		}
		for i, op := range ops {
			if op.method != http.MethodPost || op.existing {
				continue
			}
			st, err := wc.insertNew(ctx, op.res, op.id, op.ifNone)
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			op.result, op.created = st, true
		}
		for i, op := range ops {
			if op.method == http.MethodPost && op.existing && op.result.ID == "" {
				st, err := current(ctx, wc.tx, wc.tenant, op.typ, op.id)
				if err != nil {
					return fmt.Errorf("entry %d: %w", i, err)
				}
				op.result = st
			}
			if op.method != http.MethodPut {
				continue
			}
			st, err := wc.update(ctx, op.res, op.typ, op.id, op.ifMatch)
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			op.result = st
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	minimal := strings.Contains(r.Header.Get("Prefer"), "return=minimal")
	base := baseURL(r) + fhirBase
	resp := bundle{ResourceType: "Bundle", ID: lane.NewID(), Type: "transaction-response"}
	for _, op := range ops {
		st := op.result
		e := entry{Response: &entryResponse{
			Etag:         st.etag(),
			LastModified: instant(st.LastUpdated),
		}}
		switch {
		case op.method == http.MethodDelete:
			e.Response.Status = "204 No Content"
		case op.created:
			e.Response.Status = "201 Created"
		default:
			e.Response.Status = "200 OK"
		}
		if op.method != http.MethodDelete {
			e.FullURL = base + "/" + st.Type + "/" + st.ID
			e.Response.Location = fmt.Sprintf("%s/%s/_history/%d", st.Type, st.ID, st.Version)
			if !minimal {
				e.Resource = st.Body
			}
		}
		resp.Entry = append(resp.Entry, e)
	}
	writeBundle(w, resp)
}
