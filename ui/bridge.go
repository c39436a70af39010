package ui

import (
	"context"

	"fyne.io/fyne/v2"

	"github.com/examlane/examlane/lane"
)

// Bridge is the one place where lane events enter Fyne. It ranges over a
// subscription to the service's events and applies each one on the Fyne
// goroutine with fyne.Do, so that no device, sync or service goroutine
// ever touches a widget.
type Bridge struct {
	sub   *lane.Subscription
	apply func(lane.Event)
}

// bridgeBuffer is how many events may wait for the Fyne goroutine. The bus
// never blocks a publisher; a screen that falls further behind misses
// events (counted by Subscription.Dropped) and catches up on its next
// load.
const bridgeBuffer = 256

// NewBridge subscribes to svc's events at once, so that nothing published
// after NewBridge returns is missed, and returns a bridge that will call
// apply for each of them on the Fyne goroutine once Run starts.
func NewBridge(svc *lane.Service, apply func(lane.Event)) *Bridge {
	return &Bridge{sub: svc.Subscribe(bridgeBuffer), apply: apply}
}

// Run delivers events until ctx ends, then unsubscribes and returns
// ctx.Err(). It returns nil if the subscription is closed first. Run is
// called once, on its own goroutine.
func (b *Bridge) Run(ctx context.Context) error {
	defer b.sub.Close()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-b.sub.C:
			if !ok {
				return nil
			}
			fyne.Do(func() { b.apply(e) })
		}
	}
}

// Dropped returns how many events the bridge missed because the Fyne
// goroutine fell behind.
func (b *Bridge) Dropped() int { return b.sub.Dropped() }
