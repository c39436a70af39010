package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/syncclient"
	"github.com/examlane/examlane/ui"
)

// ConflictStore is what SyncView reads conflicts and records from: the
// lane's database.
type ConflictStore interface {
	Conflicts(ctx context.Context, includeResolved bool) ([]lane.Conflict, error)
	Record(ctx context.Context, entity, id string) (any, error)
}

// SyncView implements ui.SyncView over the sync client. Resolutions are
// recorded as the signed-in user of the service, whose roles must allow
// resolving conflicts.
type SyncView struct {
	Client *syncclient.Client
	Store  ConflictStore
	// Service tells who is signed in; Lane and Device name the lane in the
	// resolution's actor.
	Service      *lane.Service
	Lane, Device string
}

var _ ui.SyncView = (*SyncView)(nil)

// Status implements ui.SyncView.
func (v *SyncView) Status() lane.SyncStatus { return v.Client.Status() }

// Conflicts implements ui.SyncView: the open conflicts.
func (v *SyncView) Conflicts(ctx context.Context) ([]lane.Conflict, error) {
	return v.Store.Conflicts(ctx, false)
}

// SyncNow implements ui.SyncView.
func (v *SyncView) SyncNow() { v.Client.Kick() }

// Resolve implements ui.SyncView. A merged record is decoded into the
// conflict's record type (the type the store holds for it).
func (v *SyncView) Resolve(ctx context.Context, id lane.ConflictID, how lane.ConflictResolution, merged []byte) error {
	sess, ok := v.Service.Current()
	if !ok || v.Service.Locked() {
		return fmt.Errorf("resolve conflict: %w", lane.ErrLocked)
	}
	by := lane.Actor{User: sess.User, Roles: sess.Roles, Lane: v.Lane, Device: v.Device}
	var rec any
	if how == lane.ResolveMerge {
		cs, err := v.Store.Conflicts(ctx, false)
		if err != nil {
			return fmt.Errorf("resolve conflict: %w", err)
		}
		var cf *lane.Conflict
		for i := range cs {
			if cs[i].ID == id {
				cf = &cs[i]
			}
		}
		if cf == nil {
			return fmt.Errorf("resolve conflict %s: %w", id, lane.ErrNotFound)
		}
		mine, err := v.Store.Record(ctx, cf.Entity, cf.EntityID)
		if err != nil {
			return fmt.Errorf("resolve conflict: %w", err)
		}
		t := reflect.TypeOf(mine)
		ptr := t.Kind() == reflect.Pointer
		if ptr {
			t = t.Elem()
		}
		dst := reflect.New(t)
		if err := json.Unmarshal(merged, dst.Interface()); err != nil {
			return fmt.Errorf("resolve conflict: merged record: %v: %w", err, lane.ErrInvalid)
		}
		if ptr {
			rec = dst.Interface()
		} else {
			rec = dst.Elem().Interface()
		}
	}
	return v.Client.ResolveConflict(ctx, id, how, by, rec)
}
