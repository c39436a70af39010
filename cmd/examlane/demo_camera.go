package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/examlane/examlane/cmd/examlane/internal/wire"
	"github.com/examlane/examlane/cmd/internal/laneconfig"
	"github.com/examlane/examlane/cmd/internal/logging"
	"github.com/examlane/examlane/devices/camera"
	"github.com/examlane/examlane/lane"
)

// demoCameraName is the simulated fundus camera's name on the demo lane.
const demoCameraName = "Fundus camera"

// startCamera sets up demo mode's fundus camera: a simulator that drops a
// pair of synthetic fundus photographs (right and left eye) into
// DEMO/drops/fundus each time someone presses its Capture button on the
// pretest screen, and the lane's camera importer watching that folder.
func (b *demoBackend) startCamera() error {
	folder := filepath.Join(b.dir, "drops", "fundus")
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sim := &wire.FundusSimulator{Folder: folder, Seed: uint64(time.Now().UnixNano()), Logf: logging.Logf(b.log.Logger, "simulator")}
	cams, err := wire.NewCameras(wire.CamerasConfig{Service: b.svc, StateDir: filepath.Join(b.dir, "lane"), Poll: 300 * time.Millisecond,
		Logf: logging.Logf(b.log.Logger, "camera"),
		Cameras: []wire.Camera{{
			Camera: camera.Camera{Name: demoCameraName, Folder: folder, Pattern: "*.jpg", Stable: 300 * time.Millisecond, FieldOfView: 45,
				Instrument: lane.InstrumentRef{Vendor: "Simulated", Model: demoCameraName, Profile: "camera:" + demoCameraName}},
			Trigger: sim.Trigger,
		}},
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	b.cams = cams
	b.lane.Extra = append(b.lane.Extra, sim.Run, cams.Run)
	return nil
}

// demoCameras is the demo camera as the settings screen shows it.
func demoCameras(b *demoBackend) []laneconfig.Camera {
	if b.cams == nil {
		return nil
	}
	return []laneconfig.Camera{{Name: demoCameraName, Folder: filepath.Join(b.dir, "drops", "fundus"), Pattern: "*.jpg"}}
}
