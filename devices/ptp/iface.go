package ptp

import "fmt"

// USB class codes of a still-image (PTP) interface: class 6, subclass 1,
// protocol 1.
const (
	ClassStillImage    = 6
	SubClassStillImage = 1
	ProtocolPTP        = 1
)

// EndpointInfo describes one endpoint of an interface setting.
type EndpointInfo struct {
	// Address is the endpoint address (bit 7 set for IN).
	Address uint8
	// Bulk or Interrupt is the transfer type (neither: isochronous or
	// control).
	Bulk, Interrupt bool
	MaxPacket       int
}

// In reports whether the endpoint sends to the host.
func (e EndpointInfo) In() bool { return e.Address&0x80 != 0 }

// Number returns the endpoint number (the address without the direction).
func (e EndpointInfo) Number() int { return int(e.Address & 0x0f) }

// InterfaceInfo describes one interface alternate setting.
type InterfaceInfo struct {
	Config, Number, Alt       int
	Class, SubClass, Protocol uint8
	Endpoints                 []EndpointInfo
}

// PTPInterface is the interface and endpoints to claim for PTP.
type PTPInterface struct {
	Config, Number, Alt int
	BulkIn, BulkOut     EndpointInfo
	// Interrupt is the event endpoint; HasInterrupt is false without one.
	Interrupt    EndpointInfo
	HasInterrupt bool
}

// FindPTPInterface picks the still-image interface among a device's
// interface settings: class 6 (subclass 1, protocol 1 preferred; some
// cameras report 0 for both), with a bulk-in and a bulk-out endpoint and,
// when present, an interrupt-in endpoint. It returns an error when there is
// none.
func FindPTPInterface(ifs []InterfaceInfo) (PTPInterface, error) {
	best, bestScore := PTPInterface{}, -1
	for _, s := range ifs {
		if s.Class != ClassStillImage {
			continue
		}
		p := PTPInterface{Config: s.Config, Number: s.Number, Alt: s.Alt}
		var in, out bool
		for _, e := range s.Endpoints {
			switch {
			case e.Bulk && e.In() && !in:
				p.BulkIn, in = e, true
			case e.Bulk && !e.In() && !out:
				p.BulkOut, out = e, true
			case e.Interrupt && e.In() && !p.HasInterrupt:
				p.Interrupt, p.HasInterrupt = e, true
			}
		}
		if !in || !out {
			continue
		}
		score := 0
		if s.SubClass == SubClassStillImage && s.Protocol == ProtocolPTP {
			score += 2
		}
		if p.HasInterrupt {
			score++
		}
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	if bestScore < 0 {
		return PTPInterface{}, fmt.Errorf("ptp: no still-image interface with bulk endpoints: %w", ErrNotCamera)
	}
	return best, nil
}
