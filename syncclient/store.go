package syncclient

import (
	"context"

	"github.com/examlane/examlane/lane"
)

// Store is what the sync client needs from the lane's local store:
// lane.SyncStore plus two reads of lane.Store. localdb implements it; cmd
// passes it in.
//
// Beyond the lane.SyncStore contract the client relies on two points:
// ServerRef returns the server version the next push of the record is
// based on (after ResolveConflict with keep-mine or merge, that is the
// conflict's TheirsVersion), and an entry whose record has an open conflict
// is not delivered (the client skips it whether or not PendingChanges
// returns it).
type Store interface {
	lane.SyncStore
	// ListAppointments selects the appointments that decide whose charts
	// the lane pre-fetches.
	ListAppointments(ctx context.Context, f lane.AppointmentFilter) ([]lane.Appointment, error)
	// ImageData returns an image's bytes for pushing.
	ImageData(ctx context.Context, id lane.ImageID) ([]byte, error)
}

// ImageReceiver is implemented by stores that can keep the bytes of pulled
// images. When the store has it and Config.FetchImages is set, the client
// downloads image bytes (Binary or WADO-RS) and stores them with the record;
// otherwise it stores image metadata only (lane.SyncStore.ApplyRemote).
type ImageReceiver interface {
	ApplyRemoteImage(ctx context.Context, img lane.Image, data []byte, serverID, serverVersion string) error
}

// pendingCounter is implemented by stores that count undelivered changes
// cheaply; the client falls back to PendingChanges otherwise.
type pendingCounter interface {
	PendingCount(ctx context.Context) (int, error)
}
