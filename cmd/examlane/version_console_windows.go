//go:build windows

package main

import (
	"os"
	"syscall"
)

// The Windows package links examlane.exe as a GUI program (the fyne tool
// passes -H=windowsgui), so that opening it from the Start menu shows no
// console window. Windows then starts it without standard output or error,
// and `examlane --version` or any other command would print nothing even
// when typed in a terminal. This init attaches to the console of the program
// that started examlane, when there is one and a command or flag was given,
// and points standard output and error at it unless they were redirected to
// a file or pipe, which keep working as they are.
func init() {
	if len(os.Args) < 2 {
		return // the desktop app: no console wanted
	}
	attachParentConsole()
}

// attachParentConsole attaches the process to its parent's console and
// reopens standard output and error on it where they have no handle. It
// does nothing when there is no parent console (started from Explorer).
func attachParentConsole() {
	const attachParentProcess = ^uintptr(0) // ATTACH_PARENT_PROCESS, (DWORD)-1
	attach := syscall.NewLazyDLL("kernel32.dll").NewProc("AttachConsole")
	if attach.Find() != nil {
		return
	}
	if ok, _, _ := attach.Call(attachParentProcess); ok == 0 {
		return
	}
	if !hasHandle(os.Stdout) {
		if f := openConsoleOutput(); f != nil {
			os.Stdout = f
		}
	}
	if !hasHandle(os.Stderr) {
		if f := openConsoleOutput(); f != nil {
			os.Stderr = f
		}
	}
}

// hasHandle reports whether f is an open file: a GUI program started
// without redirection gets a null or invalid standard handle.
func hasHandle(f *os.File) bool {
	if f == nil {
		return false
	}
	h := syscall.Handle(f.Fd())
	return h != 0 && h != syscall.InvalidHandle
}

// openConsoleOutput opens the attached console's screen buffer for writing,
// or returns nil.
func openConsoleOutput() *os.File {
	name, err := syscall.UTF16PtrFromString("CONOUT$")
	if err != nil {
		return nil
	}
	h, err := syscall.CreateFile(name, syscall.GENERIC_READ|syscall.GENERIC_WRITE,
		syscall.FILE_SHARE_READ|syscall.FILE_SHARE_WRITE, nil, syscall.OPEN_EXISTING, 0, 0)
	if err != nil {
		return nil
	}
	return os.NewFile(uintptr(h), "CONOUT$")
}
