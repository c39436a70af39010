package server

import "net/http"

// capability answers GET /fhir/R4/metadata with the CapabilityStatement:
// what this server really supports, so that clients probe rather than
// assume (no $everything, no conditional update or delete, no batch).
func (s *Server) capability(w http.ResponseWriter, r *http.Request) {
	sp := func(name, typ, doc string) map[string]any {
		return map[string]any{"name": name, "type": typ, "documentation": doc}
	}
	common := []any{
		sp("_id", "token", "Logical id; comma-separated list allowed"),
		sp("_lastUpdated", "date", "eq, gt, ge, lt, le; an instant is a point, a partial date a range in the server's zone"),
		sp("identifier", "token", "system|value, |value or value; comma-separated list allowed"),
		sp("_tag", "token", "meta.tag system|code; comma-separated list allowed"),
	}
	var resources []any
	for _, t := range ResourceTypes {
		params := append([]any{}, common...)
		info := typeInfos[t]
		if len(info.patient) > 0 {
			params = append(params, sp("patient", "reference", "Patient/<id> or <id>; comma-separated list allowed"))
			if len(info.subject) == 0 {
				params = append(params, sp("subject", "reference", "alias of patient"))
			}
		}
		if len(info.subject) > 0 {
			params = append(params, sp("subject", "reference", "the subject, of any type, <Type>/<id>; comma-separated list allowed"))
		}
		if len(info.date) > 0 {
			params = append(params, sp("date", "date", "the resource's main date; eq, gt, ge, lt, le"))
		}
		if len(info.actor) > 0 {
			params = append(params,
				sp("actor", "reference", "any participant actor, <Type>/<id>"),
				sp("location", "reference", "participant actor Location/<id>"))
		}
		resources = append(resources, map[string]any{
			"type": t,
			"interaction": []any{
				map[string]any{"code": "read"}, map[string]any{"code": "vread"},
				map[string]any{"code": "update"}, map[string]any{"code": "delete"},
				map[string]any{"code": "create"}, map[string]any{"code": "search-type"},
				map[string]any{"code": "history-instance"}, map[string]any{"code": "history-type"},
			},
			"versioning":        "versioned-update",
			"readHistory":       true,
			"updateCreate":      false,
			"conditionalCreate": true,
			"conditionalRead":   "not-supported",
			"conditionalUpdate": false,
			"conditionalDelete": "not-supported",
			"searchParam":       params,
		})
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2025-01-01",
		"kind":         "instance",
		"software":     map[string]any{"name": "Examlane practiced"},
		"implementation": map[string]any{
			"description": "Examlane reference practice server",
			"url":         baseURL(r) + fhirBase,
		},
		"fhirVersion": "4.0.1",
		"format":      []any{"application/fhir+json", "json"},
		"rest": []any{map[string]any{
			"mode": "server",
			"security": map[string]any{
				"description": "Mutual TLS: every request except /metadata needs a lane client certificate issued at enrolment; the practice is taken from it. X-Examlane-User names the acting user.",
			},
			"resource": resources,
			"interaction": []any{
				map[string]any{"code": "transaction"},
				map[string]any{"code": "history-system"},
			},
			"searchParam": []any{
				sp("_count", "number", "page size, default 50, maximum 500"),
				sp("_sort", "special", "_lastUpdated or -_lastUpdated"),
				sp("_summary", "special", "count only"),
				sp("_offset", "number", "skip this many matches (next links are preferred)"),
			},
		}},
	}
	writeJSON(w, http.StatusOK, fhirJSON, cs)
}
