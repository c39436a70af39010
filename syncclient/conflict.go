package syncclient

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient/fhir"
)

// ResolveConflict applies a person's decision on a conflict. The actor must
// hold lane.PermResolveConflict.
//
//   - lane.ResolveKeepMine: the lane's current record is pushed again on
//     top of the server's version (TheirsVersion); a record deleted on the
//     server is created anew.
//   - lane.ResolveTakeTheirs: the server's version (Theirs) replaces the
//     local record; for a server-side deletion the local record is deleted.
//   - lane.ResolveMerge: merged, a record the person assembled field by
//     field (see Merge), is pushed on top of the server's version. It must be
//     a lane record of the conflict's entity and id.
//
// It asks Run for a cycle afterwards.
func (c *Client) ResolveConflict(ctx context.Context, id lane.ConflictID, how lane.ConflictResolution, by lane.Actor, merged any) error {
	if err := lane.Check(by.Roles, lane.PermResolveConflict); err != nil {
		return fmt.Errorf("syncclient: resolve conflict: %w", err)
	}
	cf, err := c.conflict(ctx, id)
	if err != nil {
		return err
	}
	var rec any
	switch how {
	case lane.ResolveKeepMine:
		if rec, err = c.cfg.Store.Record(ctx, cf.Entity, cf.EntityID); err != nil {
			return fmt.Errorf("syncclient: resolve conflict: read %s: %w", cf.Entity, err)
		}
	case lane.ResolveTakeTheirs:
		if _, rec, err = c.ConflictVersions(ctx, cf); err != nil {
			return err
		}
	case lane.ResolveMerge:
		e, rid, ok := fhir.EntityOf(merged)
		if !ok || e != cf.Entity || rid != cf.EntityID {
			return fmt.Errorf("syncclient: resolve conflict: the merged record is not %s %s: %w", cf.Entity, cf.EntityID, lane.ErrInvalid)
		}
		rec = merged
	default:
		return fmt.Errorf("syncclient: resolve conflict: resolution %q: %w", how, lane.ErrInvalid)
	}
	if err := c.cfg.Store.ResolveConflict(ctx, id, how, by, rec); err != nil {
		return fmt.Errorf("syncclient: resolve conflict: %w", err)
	}
	q, n := c.counts(ctx)
	c.update(func(s *lane.SyncStatus) { s.Queued, s.Conflicts = q, n })
	c.Kick()
	return nil
}

func (c *Client) conflict(ctx context.Context, id lane.ConflictID) (lane.Conflict, error) {
	open, err := c.cfg.Store.Conflicts(ctx, false)
	if err != nil {
		return lane.Conflict{}, fmt.Errorf("syncclient: read conflicts: %w", err)
	}
	for _, cf := range open {
		if cf.ID == id {
			return cf, nil
		}
	}
	return lane.Conflict{}, fmt.Errorf("syncclient: conflict %s: %w", id, lane.ErrNotFound)
}

// ConflictVersions returns both sides of a conflict as lane records with
// local ids: mine is the lane's current record, theirs the server's version
// (for a server-side deletion, mine marked deleted).
func (c *Client) ConflictVersions(ctx context.Context, cf lane.Conflict) (mine, theirs any, err error) {
	st := c.cfg.Store
	if mine, err = st.Record(ctx, cf.Entity, cf.EntityID); err != nil {
		return nil, nil, fmt.Errorf("syncclient: read %s: %w", cf.Entity, err)
	}
	if cf.TheirsVersion == GoneVersion {
		theirs, err = markDeleted(mine)
		return mine, theirs, err
	}
	res, err := fhir.Decode(cf.Theirs)
	if err != nil {
		return nil, nil, err
	}
	if theirs, err = c.mapper.FromFHIR(res); err != nil {
		return nil, nil, err
	}
	if theirs, err = fhir.MapRefs(theirs, func(entity, id string) (string, error) {
		l, err := st.LocalID(ctx, entity, id)
		if errors.Is(err, lane.ErrNotFound) {
			return id, nil
		}
		return l, err
	}); err != nil {
		return nil, nil, err
	}
	theirs, err = fhir.WithID(theirs, cf.EntityID)
	if err != nil {
		return nil, nil, err
	}
	// Local bookkeeping follows the lane's record, not the server's.
	theirs = copyField(theirs, mine, "Version")
	return mine, theirs, nil
}

func markDeleted(rec any) (any, error) {
	v := reflect.New(reflect.TypeOf(rec)).Elem()
	v.Set(reflect.ValueOf(rec))
	f := v.FieldByName("Deleted")
	if !f.IsValid() {
		return nil, fmt.Errorf("syncclient: %T cannot be deleted: %w", rec, lane.ErrInvalid)
	}
	f.SetBool(true)
	return v.Interface(), nil
}

func copyField(dst, src any, name string) any {
	d := reflect.New(reflect.TypeOf(dst)).Elem()
	d.Set(reflect.ValueOf(dst))
	s := reflect.ValueOf(src)
	if f, g := d.FieldByName(name), s.FieldByName(name); f.IsValid() && g.IsValid() && f.Type() == g.Type() {
		f.Set(g)
	}
	return d.Interface()
}

// bookkeeping fields are not part of what a person compares or merges.
var bookkeeping = map[string]bool{"ID": true, "Version": true, "Updated": true}

// Differences lists the top-level fields (Go field names, e.g. "Plan",
// "Refraction") in which two versions of the same lane record differ,
// sorted; it ignores id and version bookkeeping.
func Differences(mine, theirs any) ([]string, error) {
	a, b := reflect.ValueOf(mine), reflect.ValueOf(theirs)
	if !a.IsValid() || a.Type() != b.Type() || a.Kind() != reflect.Struct {
		return nil, fmt.Errorf("syncclient: compare %T with %T: %w", mine, theirs, lane.ErrInvalid)
	}
	var out []string
	for i := 0; i < a.NumField(); i++ {
		name := a.Type().Field(i).Name
		if bookkeeping[name] {
			continue
		}
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Merge returns mine with the named top-level fields taken from theirs: the
// record a person assembled field by field, to pass to ResolveConflict with
// lane.ResolveMerge.
func Merge(mine, theirs any, fromTheirs []string) (any, error) {
	a, b := reflect.ValueOf(mine), reflect.ValueOf(theirs)
	if !a.IsValid() || a.Type() != b.Type() || a.Kind() != reflect.Struct {
		return nil, fmt.Errorf("syncclient: merge %T with %T: %w", mine, theirs, lane.ErrInvalid)
	}
	out := reflect.New(a.Type()).Elem()
	out.Set(a)
	for _, name := range fromTheirs {
		f := out.FieldByName(name)
		if !f.IsValid() || bookkeeping[name] {
			return nil, fmt.Errorf("syncclient: merge: no field %q in %T: %w", name, mine, lane.ErrInvalid)
		}
		f.Set(b.FieldByName(name))
	}
	return out.Interface(), nil
}
