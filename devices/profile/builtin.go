package profile

import (
	"time"

	"github.com/examlane/examlane/devices/transport"
	"github.com/examlane/examlane/lane"
)

// Notes shared by several built-ins; the [V]/[S]/[U] tags follow the device
// notes (verified, secondary source, unverified).
const (
	noteRT = "RT→PC per the RT-5100 interface manual [V]: 2400 7E2, DTR/DSR. " +
		"Set the RT's PC port parameters to match. PC→RT send: the RT-3100 was seen never to answer SD, so use direct [S]."
	noteRTType2 = "\"Communication sequence for PC\" = Type 2: 9600 8O1, no DTR/DSR steps [S/V-partial]."
	noteLM      = "D-block frames with a 4-digit checksum [V for the LM-1000 example]. Link settings were not in the " +
		"public material: 2400 7E2 matches the RT the LM can feed directly [U]; check the LM's interface menu."
	noteARK = "ARK serial format inferred from the RT input grammar (DRM blocks) [U]. I/F mode NIDEK: DTR/DSR and the SD " +
		"command start a transmission; NCP10: no control lines, checksum present. Link settings not public: 2400 7E2 [U]."
	noteJOIA = "JOIA XML, one file per measurement, written to a shared folder or copied from USB memory [V files]. " +
		"Set folder to where the files arrive."
)

var (
	link2400_7E2 = transport.MustParseLink("2400 7E2")
	link9600_8O1 = transport.MustParseLink("9600 8O1")
	link9600_8N1 = transport.MustParseLink("9600 8N1")
)

var rtSendModes = []SendMode{SendHandshake, SendDirect, SendNoWait}

var rtMeasures = []lane.Kind{lane.KindRefraction, lane.KindLensometry, lane.KindVA, lane.KindPD, lane.KindKeratometry, lane.KindIOP}

// builtins returns a fresh copy of the built-in profiles.
func builtins() []Profile {
	nidekRT := func(name, model string, aliases ...string) Profile {
		return Profile{
			Name: name, Vendor: "NIDEK", Model: model, Aliases: aliases,
			Transport: TransportSerial, Link: link2400_7E2, DTR: true, RTS: true, WaitDSR: true,
			Dialect: "nidek-rt", Measures: rtMeasures, Handshake: HandshakeDTRDSR,
			SendModes: rtSendModes, DefaultSend: SendHandshake, Note: noteRT,
		}
	}
	rt3100 := nidekRT("nidek-rt3100", "RT-3100", "marco-rt3100")
	rt3100.Link, rt3100.WaitDSR, rt3100.Handshake = link9600_8O1, false, HandshakeNone
	rt3100.DefaultSend = SendDirect
	rt3100.Note = noteRTType2 + " " + noteRT
	rt5100t2 := nidekRT("nidek-rt5100-type2", "RT-5100")
	rt5100t2.Link, rt5100t2.WaitDSR, rt5100t2.Handshake = link9600_8O1, false, HandshakeNone
	rt5100t2.Note = noteRTType2 + " " + noteRT

	nidekLM := func(name, model string, t Transport, aliases ...string) Profile {
		return Profile{
			Name: name, Vendor: "NIDEK", Model: model, Aliases: aliases,
			Transport: t, Link: link2400_7E2, DTR: true, RTS: true,
			Dialect: "nidek-dblock", Measures: []lane.Kind{lane.KindLensometry, lane.KindPD},
			Handshake: HandshakeDTRDSR, Note: noteLM,
		}
	}
	lm1800 := nidekLM("nidek-lm1800", "LM-1800P", TransportUSBSerial, "nidek-lm1800p", "nidek-lm1800pd")
	lm1800.Note = "USB (virtual COM port) or RS-232C; right/left may come as I/S eye blocks [S]. " + noteLM

	nidekARK := func(name, model string, aliases ...string) Profile {
		return Profile{
			Name: name, Vendor: "NIDEK", Model: model, Aliases: aliases,
			Transport: TransportSerial, Link: link2400_7E2, DTR: true, RTS: true,
			Dialect:   "nidek-dblock",
			Measures:  []lane.Kind{lane.KindRefraction, lane.KindKeratometry, lane.KindPD},
			Handshake: HandshakeDTRDSR, Request: "sd", Note: noteARK,
		}
	}
	nidekFile := func(name, model string, measures []lane.Kind, note string, aliases ...string) Profile {
		return Profile{
			Name: name, Vendor: "NIDEK", Model: model, Aliases: aliases,
			Transport: TransportFile, Dialect: "nidek-xml", Measures: measures,
			Pattern: "*.xml", Stable: 2 * time.Second, Note: note,
		}
	}
	topcon := func(name, model string, measures []lane.Kind, aliases ...string) Profile {
		return Profile{
			Name: name, Vendor: "TOPCON", Model: model, Aliases: aliases,
			Transport: TransportFile, Dialect: "joia", Measures: measures,
			Pattern: "*.xml", Stable: 2 * time.Second, Note: noteJOIA,
		}
	}
	ref, km, tm, pachy, lm, pd := lane.KindRefraction, lane.KindKeratometry, lane.KindIOP, lane.KindPachymetry, lane.KindLensometry, lane.KindPD

	return []Profile{
		nidekRT("nidek-rt2100", "RT-2100", "marco-rt2100"),
		rt3100,
		nidekRT("nidek-rt5100", "RT-5100", "marco-rt5100"),
		rt5100t2,
		nidekLM("nidek-lm1000", "LM-1000", TransportSerial, "nidek-lm1000p", "nidek-lm1200"),
		lm1800,
		nidekARK("nidek-ark1", "ARK-1", "nidek-ark1s"),
		nidekARK("nidek-ark510a", "ARK-510A"),
		nidekARK("nidek-ark530a", "ARK-530A"),
		nidekARK("nidek-ark710a", "ARK-710A"),
		nidekFile("nidek-ark510a-xml", "ARK-510A", []lane.Kind{ref, km, pd},
			"ARK-510A/560A LAN export: plain <Data> XML [S]. Set folder to the export share.", "nidek-ark560a-xml"),
		nidekFile("nidek-nt530p", "NT-530P", []lane.Kind{tm, pachy},
			"NT-530P writes UTF-16 <Data> XML with a JPG reference [V file]. Set folder to the export share.", "oculus-nt530p"),
		nidekFile("nidek-lm7", "LM-7", []lane.Kind{lm, pd},
			"LM-7 LAN XML (NIDEK_V1.00, no namespaces) [V file]. Set folder to the export share."),
		topcon("topcon-kr800", "KR-800", []lane.Kind{ref, km, pd}, "topcon-kr800s"),
		topcon("topcon-kr1", "KR-1", []lane.Kind{ref, km, pd}),
		topcon("topcon-trk2p", "TRK-2P", []lane.Kind{ref, km, tm, pachy, pd}),
		topcon("topcon-ct800a", "CT-800A", []lane.Kind{tm, pachy}, "topcon-ct800"),
		topcon("topcon-ct1p", "CT-1P", []lane.Kind{tm, pachy}),
		topcon("topcon-cl300", "CL-300", []lane.Kind{lm, pd}),
		topcon("topcon-solos", "Solos", []lane.Kind{lm, pd}),
		topcon("topcon-cv5000", "CV-5000", []lane.Kind{ref, lane.KindVA, pd}),
		{
			Name: "generic-dcs-lensmeter", Vendor: "", Model: "DCS lensmeter", Aliases: []string{"dcs-lensmeter"},
			Transport: TransportSerial, Link: link9600_8N1, DTR: true, RTS: true,
			Dialect: "dcs", Measures: []lane.Kind{lm, pd}, Handshake: HandshakeACKNAK,
			Note: "Vision Council DCS framing (FS … RS CRC GS) with ACK/NAK [S]; the lensmeter record set is not verified " +
				"against DCS v3.12 [U]. Link settings vary by model: check the instrument.",
		},
	}
}
