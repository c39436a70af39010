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

// BatchApplier is implemented by stores that apply a page of pulled
// records in one transaction (localdb does). The client then stores each
// page of a pull with one call instead of one ApplyRemote (and one commit)
// per record; stores without it get ApplyRemote record by record.
//
// ApplyRemoteBatch applies recs in order, each as ApplyRemote would (or
// ApplyRemoteImage when Data is set: the client sets Data only for stores
// that are also ImageReceivers), so that a record sees the ones before it.
// A record refused by the conflict rule (ErrConflict) or lacking the record
// it belongs to (ErrNotFound) is left out alone and its error returned at
// its index in errs; any other failure stores nothing of the batch and is
// returned as err.
type BatchApplier interface {
	ApplyRemoteBatch(ctx context.Context, recs []lane.RemoteRecord) (errs []error, err error)
}

// BatchMarker is implemented by stores that mark many delivered outbox
// entries in one transaction (localdb does): MarkPushedBatch does what
// MarkPushed does for each, all or nothing. Stores without it get
// MarkPushed entry by entry.
type BatchMarker interface {
	MarkPushedBatch(ctx context.Context, ds []lane.Delivered) error
}
