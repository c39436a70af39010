package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/examlane/examlane/lane"
)

// MaxBundleSize bounds the bytes DecodeBundle reads.
const MaxBundleSize = 256 << 20

// bundleTypes are the Bundle types DecodeBundle accepts.
var bundleTypes = map[string]bool{
	"collection": true, "transaction": true, "batch": true, "searchset": true,
	"history": true, "document": true, "transaction-response": true, "batch-response": true,
}

// ParseBundle decodes a Bundle's JSON and checks that it is one.
func ParseBundle(raw []byte) (*Bundle, error) {
	var b Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, invalidf("bundle: %v", err)
	}
	if b.ResourceType != "Bundle" {
		return nil, invalidf("bundle: resourceType is %q, want \"Bundle\"", b.ResourceType)
	}
	if !bundleTypes[b.Type] {
		return nil, invalidf("bundle: type %q", b.Type)
	}
	return &b, nil
}

// DecodeBundle reads a FHIR R4 Bundle (collection, transaction, searchset,
// ...) and returns the lane records it holds, in entry order, using the
// zero Mapper: lane.Patient, lane.Appointment, lane.Encounter,
// lane.Measurement, lane.SpectacleRx and lane.ContactLensRx values. Entries
// of other types (Practitioner, Provenance, images without their bytes, ...)
// and Observations that are not eye measurements are skipped. References
// between entries (by "Type/id" or by a urn:uuid fullUrl) are rewritten to
// the referenced record's lane id. A malformed bundle or entry gives an error
// wrapping lane.ErrInvalid that names the entry.
func DecodeBundle(r io.Reader) ([]any, error) { return Mapper{}.DecodeBundle(r) }

// DecodeBundle is DecodeBundle with this mapper's settings.
func (m Mapper) DecodeBundle(r io.Reader) ([]any, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("fhir: read bundle: %w", err)
	}
	if len(raw) > MaxBundleSize {
		return nil, invalidf("bundle larger than %d MiB", MaxBundleSize>>20)
	}
	b, err := ParseBundle(raw)
	if err != nil {
		return nil, err
	}
	type item struct {
		rec    any
		entity string
	}
	var items []item
	ids := map[[2]string]string{} // (entity, id or uuid) → lane id
	for i, e := range b.Entry {
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			continue
		}
		res, err := Decode(e.Resource)
		if errors.Is(err, ErrUnsupported) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("fhir: bundle entry %d: %w", i, err)
		}
		rec, err := m.FromFHIR(res)
		if errors.Is(err, ErrUnsupported) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("fhir: bundle entry %d (%s): %w", i, Type(res), err)
		}
		entity, laneID, _ := EntityOf(rec)
		uuid, isUUID := strings.CutPrefix(e.FullURL, "urn:uuid:")
		if laneID == "" && isUUID && uuid != "" {
			// a new record in a transaction: its urn:uuid is the best id it has
			laneID = uuid
			if rec, err = WithID(rec, uuid); err != nil {
				return nil, err
			}
		}
		switch entity {
		case lane.EntityPatient, lane.EntityAppointment, lane.EntityEncounter, lane.EntityMeasurement,
			lane.EntitySpectacleRx, lane.EntityContactRx:
		default:
			continue
		}
		if laneID == "" {
			return nil, invalidf("bundle entry %d (%s): no id and no lane identifier", i, Type(res))
		}
		if id := ID(res); id != "" {
			ids[[2]string{entity, id}] = laneID
		}
		if u := RefID(&Reference{Reference: e.FullURL}, Type(res)); u != "" {
			ids[[2]string{entity, u}] = laneID
		}
		items = append(items, item{rec, entity})
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		rec, err := MapRefs(it.rec, func(entity, id string) (string, error) {
			if l, ok := ids[[2]string{entity, id}]; ok {
				return l, nil
			}
			return id, nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}
