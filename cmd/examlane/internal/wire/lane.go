// Package wire connects the lane's parts for the desktop app: it pumps
// device-hub events into lane.Service, publishes instrument and sync state
// as lane events, and adapts the device hub, the sync client and the lane
// configuration to the ports the ui package declares (ui.Instruments,
// ui.SyncView, ui.Settings).
//
// Lane owns the long-lived components (hub, sync client, backup scheduler)
// and runs them under one context; cmd/examlane builds it, runs it beside
// the window and closes the database after Run returned.
package wire

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/examlane/examlane/devices"
	"github.com/examlane/examlane/lane"
	"github.com/examlane/examlane/localdb"
	"github.com/examlane/examlane/syncclient"
)

// Lane is the running lane behind the window: the service and the
// components that feed it. Fields other than Service are optional.
type Lane struct {
	Service *lane.Service
	// Hub runs the configured instruments; its captures go to
	// Service.IngestCapture and its state changes are published as
	// lane.InstrumentChanged.
	Hub *devices.Hub
	// Sync is the sync client; its status is published as
	// lane.SyncChanged.
	Sync *syncclient.Client
	// Backups writes scheduled backups.
	Backups *localdb.BackupScheduler
	// Extra are more long-lived components run beside the others (demo
	// mode's simulators, the window's event loop).
	Extra []func(ctx context.Context) error
	// OnLock runs each time the lane locks or the session ends (e.g. the
	// store's DropCaches, so that no decrypted patient data stays in
	// memory while the room is empty); nil for none.
	OnLock func()
	// Logf receives diagnostics (no patient data); nil discards them.
	Logf func(format string, args ...any)
}

func (l *Lane) logf(format string, args ...any) {
	if l.Logf != nil {
		l.Logf(format, args...)
	}
}

// Run runs every component until ctx ends or one fails, then cancels the
// others, waits for all of them and returns the first failure (nil when
// they stopped because ctx ended).
func (l *Lane) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	start := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := run(ctx)
			if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
				once.Do(func() { first = fmt.Errorf("%s: %w", name, err) })
				l.logf("wire: %s stopped: %v", name, err)
				cancel()
			}
		}()
	}
	if l.Hub != nil {
		// Subscribe before the hub runs so that no event is missed.
		events, stop := l.Hub.Subscribe()
		start("capture pump", func(ctx context.Context) error {
			defer stop()
			return l.pumpHub(ctx, events)
		})
		start("device hub", l.Hub.Run)
	}
	if l.Sync != nil {
		status, stop := l.Sync.Subscribe()
		start("sync status", func(ctx context.Context) error {
			defer stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case st := <-status:
					l.Service.Publish(lane.SyncChanged{Status: st})
				}
			}
		})
		start("sync client", l.Sync.Run)
	}
	if l.Backups != nil {
		start("backups", func(ctx context.Context) error {
			if _, err := l.Backups.BackupNow(ctx); err != nil && ctx.Err() == nil {
				l.logf("wire: backup at start failed: %v", err)
			}
			return l.Backups.Run(ctx)
		})
	}
	if l.OnLock != nil {
		// Subscribe now so that a lock right after start is not missed.
		sub := l.Service.Subscribe(16)
		start("lock watcher", func(ctx context.Context) error {
			defer sub.Close()
			return watchLocks(ctx, sub, l.OnLock)
		})
	}
	for i, x := range l.Extra {
		start(fmt.Sprintf("component %d", i+1), x)
	}
	wg.Wait()
	return first
}

// pumpHub files every capture and publishes every state change until the
// hub closes events (after its Run returned) or ctx ends. A capture that
// cannot be filed is logged and the pump goes on: the hub keeps the raw
// bytes nowhere else, so the error is loud, but one bad write must not
// stop capture for the rest of the day.
func (l *Lane) pumpHub(ctx context.Context, events <-chan devices.Event) error {
	for {
		var e devices.Event
		var ok bool
		select {
		case <-ctx.Done():
			// The hub stops with the same context and closes events after
			// delivering what was queued: file those captures too.
			for e := range events {
				l.handle(context.WithoutCancel(ctx), e)
			}
			return nil
		case e, ok = <-events:
			if !ok {
				return nil
			}
		}
		l.handle(ctx, e)
	}
}

func (l *Lane) handle(ctx context.Context, e devices.Event) {
	switch e.Kind {
	case devices.EventCapture:
		if _, err := l.Service.IngestCapture(ctx, e.Capture); err != nil {
			l.logf("wire: instrument %s: capture not filed: %v", e.Instrument, err)
		}
	case devices.EventRejected:
		l.logf("wire: instrument %s: transmission refused: %s", e.Instrument, e.Reason)
	}
	l.Service.Publish(lane.InstrumentChanged{State: e.State})
}

// watchLocks calls onLock for every lock event on sub until ctx ends or
// sub closes.
func watchLocks(ctx context.Context, sub *lane.Subscription, onLock func()) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			if lc, isLock := e.(lane.LockChanged); isLock && lc.Locked {
				onLock()
			}
		}
	}
}
