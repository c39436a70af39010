// Package simulator plays instruments: it builds frames in the serial
// dialects the lane understands (NIDEK RT and D-block, Vision Council DCS)
// and the JOIA XML files TOPCON instruments drop in folders, synthesises
// plausible readings within clinical ranges, and sends them over a pty pair,
// a real serial port or into a folder with the profile's handshake (RS/SD,
// ACK/NAK) and optional faults (noise, split writes, mid-frame pauses,
// dropped bytes, bad checksums, garbage as from a wrong baud rate).
//
// cmd/devsim is its command-line front end; demo mode drives a Simulator
// directly and calls Measure when the user presses "measure".
package simulator
