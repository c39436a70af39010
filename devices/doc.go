// Package devices runs the lane's instruments. A Hub owns one goroutine per
// configured instrument: for a serial or USB-serial instrument it opens the
// port with the profile's link settings (devices/transport), cuts the byte
// stream into frames with the dialect's framer, decodes each frame with the
// dialect's codec (devices/codec) and publishes the result as a
// lane.Capture; for a file-drop instrument it watches the folder
// (devices/filedrop) and decodes each stable new file. Every capture keeps
// the exact bytes received and their SHA-256.
//
// Nothing a device sends can crash the hub or slip through half parsed: a
// frame that fails to decode, times out, overflows or arrives garbled is
// published as a rejection with a reason in words, and the instrument's
// state says what is wrong (unplugged, wrong baud rate, bad checksum). Lost
// connections are retried with backoff; Rescan retries at once (call it when
// the USB watcher in devices/usb sees a cable come back).
//
// Subpackages: profile (the instrument models and the practice's TOML
// overrides), transport (serial ports), usb (USB enumeration and bridge
// ports), filedrop (folder watching), simulator (instrument simulation for
// demo mode, tests and cmd/devsim), codec (the pure decoders, written
// separately).
package devices
