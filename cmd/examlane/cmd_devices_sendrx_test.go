package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestDevicesSendRx sends a prescription to devsim playing an RT-5100 on a
// pty, in each send mode, and checks the phoropter got the exact frame.
func TestDevicesSendRx(t *testing.T) {
	if testing.Short() {
		t.Skip("builds devsim")
	}
	const lm = "R: -2.25 -0.75 x 180 add +2.00 1 BI; L: -2.00 -0.50 x 170 add +2.00"
	const ar = "OD -2.50 -0.75 x 178; OS -2.25 -0.50 x 172"
	tests := []struct {
		mode   string
		noSD   bool
		code   int
		sd     bool
		rs     bool
		stderr string
	}{
		{"handshake", false, 0, true, true, ""},
		{"direct", false, 0, false, false, ""},
		{"nowait", false, 0, true, true, ""},
		{"nowait", true, 0, false, true, ""},
		{"direct", true, 0, false, false, ""},
		{"handshake", true, 1, false, true, "try the direct send mode"},
	}
	for _, tt := range tests {
		name := tt.mode
		if tt.noSD {
			name += "/rt3100-like"
		}
		t.Run(name, func(t *testing.T) {
			args := []string{"--profile", "nidek-rt5100", "--json"}
			if tt.noSD {
				args = append(args, "--no-sd")
			}
			s := startDevsim(t, args...)
			var out, errOut syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code := dispatch(ctx, &env{Stdout: &out, Stderr: &errOut}, []string{"devices", "send-rx", "--profile", "nidek-rt5100",
				"--port", s.path, "--mode", tt.mode, "--sd-timeout", "500ms", "--lensmeter", lm, "--autorefraction", ar})
			if code != tt.code || !strings.Contains(errOut.String(), tt.stderr) {
				t.Fatalf("code %d, stderr %q; want %d and %q", code, errOut.String(), tt.code, tt.stderr)
			}
			// What did the phoropter receive?
			var got struct {
				rs   bool
				data string
			}
			deadline := time.After(5 * time.Second)
		read:
			for {
				select {
				case line := <-s.lines:
					var r struct {
						Received string `json:"received"`
						FrameHex string `json:"frame_hex"`
					}
					json.Unmarshal([]byte(line), &r)
					switch r.Received {
					case "rs":
						got.rs = true
					case "data":
						got.data = r.FrameHex
						break read
					}
				case <-deadline:
					break read
				case <-time.After(700 * time.Millisecond):
					if tt.code != 0 {
						break read
					}
				}
			}
			if got.rs != tt.rs {
				t.Errorf("phoropter saw RS = %v, want %v", got.rs, tt.rs)
			}
			if tt.code != 0 {
				if got.data != "" {
					t.Errorf("data sent although the handshake failed")
				}
				return
			}
			var res struct {
				Mode       string `json:"mode"`
				SDReceived bool   `json:"sd_received"`
				Bytes      int    `json:"bytes"`
				FrameHex   string `json:"frame_hex"`
			}
			if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
				t.Fatalf("stdout %q: %v", out.String(), err)
			}
			if res.FrameHex != got.data || res.Mode != tt.mode || res.SDReceived != tt.sd {
				t.Errorf("send-rx said %+v, phoropter got %s", res, got.data)
			}
			// The frame carries both blocks: DRM (autorefraction) and DLM.
			for _, want := range []string{"44524d02", "444c4d02", "4f522d30322e35302d30302e3735313738"} { // "DRM\x02", "DLM\x02", "OR-02.50-00.75178"
				if !strings.Contains(res.FrameHex, want) {
					t.Errorf("frame %s lacks %s", res.FrameHex, want)
				}
			}
		})
	}
}

func TestDevicesSendRxUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--profile", "nidek-rt5100"}, "--port"},
		{[]string{"--profile", "nidek-lm1000", "--port", "/dev/null", "--lensmeter", "R: -1.00; L: -1.00"}, "does not accept prescriptions"},
		{[]string{"--profile", "nidek-rt5100", "--port", "/dev/null"}, "give --lensmeter, --autorefraction or both"},
		{[]string{"--profile", "nidek-rt5100", "--port", "/dev/null", "--lensmeter", "R: -1.00 x 90"}, "--lensmeter"},
		{[]string{"--profile", "nidek-rt5100", "--port", "/dev/null", "--mode", "shout", "--lensmeter", "R: -1.00; L: -1.00"}, "--mode"},
	} {
		var o, e syncBuffer
		code := dispatch(t.Context(), &env{Stdout: &o, Stderr: &e}, append([]string{"devices", "send-rx"}, tt.args...))
		if code != 2 || !strings.Contains(e.String(), tt.want) {
			t.Errorf("%v: code %d stderr %q, want 2 and %q", tt.args, code, e.String(), tt.want)
		}
	}
}
