package devices

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/examlane/examlane/devices/codec"
	"github.com/examlane/examlane/devices/codec/dcs"
	"github.com/examlane/examlane/devices/profile"
	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/devices/usb"
	"github.com/examlane/examlane/lane"
)

// garbageLimit is how many bytes outside any frame, with no good frame
// since, make the hub say the link settings are probably wrong.
const garbageLimit = 64

// runSerial keeps a serial instrument connected until ctx ends: resolve
// the port, open it, read frames, and on any failure wait with backoff
// (cut short by Rescan) and try again.
func (h *Hub) runSerial(ctx context.Context, ins *instrument) {
	backoff := h.cfg.BackoffMin
	for ctx.Err() == nil {
		wake := h.wakeChan()
		path, err := h.resolvePort(ins)
		if err == nil {
			var conn transport.Conn
			conn, err = h.cfg.Open(ctx, path, h.serialConfig(ins))
			if err == nil {
				backoff = h.cfg.BackoffMin
				err = h.session(ctx, ins, path, conn)
				conn.Close()
			}
		}
		if ctx.Err() != nil {
			break
		}
		msg := words(err, path)
		h.update(ins, func(s *lane.InstrumentState) {
			s.State, s.LastError = StateDisconnected, msg
		})
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		}
		t.Stop()
		backoff = min(backoff*2, h.cfg.BackoffMax)
	}
	h.update(ins, func(s *lane.InstrumentState) { s.State = StateDisconnected })
}

func (h *Hub) serialConfig(ins *instrument) transport.SerialConfig {
	c := ins.prof.SerialConfig()
	if ins.prof.Handshake == profile.HandshakeRTSCTS {
		c.RTS, c.WaitCTS = true, true
	}
	return c
}

// resolvePort returns the configured port, or finds a USB bridge's port.
func (h *Hub) resolvePort(ins *instrument) (string, error) {
	if ins.port != "" {
		return ins.port, nil
	}
	if len(ins.prof.USB) > 0 && h.cfg.Ports != nil {
		return h.cfg.Ports.FindPort(ins.prof.USB, ins.prof.USBSerial)
	}
	return "", fmt.Errorf("no serial port configured: %w", lane.ErrInvalid)
}

// session reads from an open link until it fails or ctx ends. It is the
// only reader of conn.
func (h *Hub) session(ctx context.Context, ins *instrument, path string, conn transport.Conn) error {
	spec := *ins.codec.Framing()
	if ins.prof.Dialect != dcs.Name { // the DCS session keeps the standard's timing
		if ins.prof.InterByte > 0 {
			spec.InterByte = ins.prof.InterByte
		}
		if ins.prof.Whole > 0 {
			spec.Whole = ins.prof.Whole
		}
	}
	proto, err := newProtocol(ins, spec)
	if err != nil {
		return err
	}
	tick := 50 * time.Millisecond
	if spec.InterByte > 0 {
		tick = max(min(tick, spec.InterByte/4), 5*time.Millisecond)
	}
	if err := conn.SetReadTimeout(tick); err != nil {
		return err
	}
	if n, ok := conn.(interface{ Notes() []string }); ok {
		for _, msg := range n.Notes() {
			h.note(ins, msg)
		}
	}
	ins.mu.Lock()
	ins.conn = conn
	ins.mu.Unlock()
	defer func() {
		ins.mu.Lock()
		ins.conn = nil
		ins.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	h.update(ins, func(s *lane.InstrumentState) {
		s.State, s.Port = StateConnected, path
	})
	r := &reader{h: h, ins: ins, conn: conn, path: path}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		now := time.Now()
		var st step
		if n > 0 {
			st = proto.feed(buf[:n], now)
		} else {
			st = proto.tick(now)
		}
		r.apply(st)
		r.receiving(proto.pending() > 0)
		if err != nil && !errors.Is(err, transport.ErrReadTimeout) {
			if ctx.Err() != nil {
				return nil
			}
			st = proto.flush()
			for i := range st.events {
				if st.events[i].err != nil {
					st.events[i].err = fmt.Errorf("link lost mid-frame after %d bytes: %w", len(st.events[i].raw), codec.ErrIncomplete)
				}
			}
			st.writes = nil
			r.apply(st)
			return err
		}
	}
}

// reader handles the frames of one session.
type reader struct {
	h     *Hub
	ins   *instrument
	conn  transport.Conn
	path  string
	noise int  // bytes outside frames since the last good frame
	bad   int  // rejected frames since the last good frame
	told  bool // garbage already reported
}

// apply performs one protocol step: answers to write, then the stream's
// events in order (noise, frames to decode, refusals).
func (r *reader) apply(st step) {
	for _, w := range st.writes {
		if err := r.ins.write(r.conn, w); err != nil {
			r.h.cfg.Logf("devices: %s: answering the instrument: %v", r.ins.name, err)
		}
	}
	for _, e := range st.events {
		switch {
		case e.noise > 0:
			r.addNoise(e.noise)
		case e.err != nil:
			r.reject(e.raw, frameWords(e.err))
		case e.note != "":
			r.h.cfg.Logf("devices: %s: %s", r.ins.name, e.note)
		default:
			r.frame(e.raw)
		}
	}
}

// addNoise counts bytes that fell outside every frame since the last good
// frame and says once when they look like a wrong link setting.
func (r *reader) addNoise(n int) {
	r.noise += n
	if r.noise >= garbageLimit && !r.told {
		r.told = true
		r.h.emitRejected(r.ins, nil, fmt.Sprintf("receiving bytes that are not %s frames (%d so far): check the baud rate and parity (profile: %s) and the cable",
			r.ins.prof.Dialect, r.noise, r.ins.prof.Link), true)
	}
}

func (r *reader) receiving(on bool) {
	r.h.update(r.ins, func(s *lane.InstrumentState) {
		switch {
		case on && s.State == StateConnected:
			s.State = StateReceiving
		case !on && s.State == StateReceiving:
			s.State = StateConnected
		}
	})
}

// frame decodes one complete frame and publishes the capture or the
// rejection. A frame without a single reading is rejected with the
// decoder's warnings as the reason.
func (r *reader) frame(raw []byte) {
	capt, err := decode(r.ins.codec, raw)
	if err == nil && len(capt.Readings) == 0 {
		err = fmt.Errorf("no readings in the frame: %s", strings.Join(capt.Warnings, "; "))
	}
	if err != nil {
		r.reject(raw, err.Error())
		return
	}
	r.noise, r.bad, r.told = 0, 0, false
	r.h.emitCapture(r.ins, capt, raw, r.path)
}

func (r *reader) reject(raw []byte, reason string) {
	r.bad++
	if r.bad >= 3 {
		reason += fmt.Sprintf(" (%d bad frames in a row: check the baud rate and parity, profile: %s)", r.bad, r.ins.prof.Link)
	}
	r.h.emitRejected(r.ins, raw, reason, true)
}

// frameWords explains an abandoned frame.
func frameWords(err error) string {
	switch {
	case errors.Is(err, codec.ErrTimeout):
		return "transmission stopped mid-frame (" + err.Error() + "): cable pulled, instrument switched off, or wrong link settings"
	case errors.Is(err, codec.ErrOverflow):
		return "frame never ended (" + err.Error() + "): wrong dialect or link settings?"
	case errors.Is(err, codec.ErrIncomplete):
		return "incomplete frame (" + err.Error() + ")"
	}
	return err.Error()
}

// words explains a connection failure for the technician.
func words(err error, path string) string {
	if err == nil {
		return "link closed"
	}
	switch {
	case errors.Is(err, transport.ErrDisconnected):
		return fmt.Sprintf("instrument disconnected from %s (cable unplugged or instrument off); retrying", path)
	case errors.Is(err, transport.ErrNoPort):
		return fmt.Sprintf("port %s not present (is the cable plugged in?); retrying", path)
	case errors.Is(err, usb.ErrNotPlugged):
		return err.Error() + "; waiting for it"
	case errors.Is(err, transport.ErrBusy):
		return fmt.Sprintf("port %s is in use by another program; close it and the lane retries", path)
	case errors.Is(err, transport.ErrPermission):
		return fmt.Sprintf("no permission to open %s (add the lane user to the serial group, e.g. dialout)", path)
	case errors.Is(err, transport.ErrSignalTimeout):
		return fmt.Sprintf("%s: %v", path, err)
	}
	return err.Error()
}
