package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/examlane/examlane/assets"
	"github.com/examlane/examlane/lane"
)

// lockWidth is the width of the lock screen's form.
const lockWidth = 440

// lockScreen takes the whole window while the lane is locked or nobody is
// signed in. It shows no patient data at all: only the app, the staff
// member whose session is locked, and the sign-in fields. It has two modes:
// resume (the locked session's user types a PIN) and sign-in (the start of
// a shift: user name, password and the code of an authenticator app).
// Signing in as someone else ends the locked session for good.
type lockScreen struct {
	d       *Desktop
	content fyne.CanvasObject

	title     *widget.Label
	resumeBox *fyne.Container
	who       *widget.Label
	pin       *widget.Entry

	signInBox *fyne.Container
	user      *widget.Entry
	password  *widget.Entry
	code      *widget.Entry
	endsNote  *widget.Label
	backToPIN *widget.Button

	errLabel *widget.Label
	busy     bool
	col      *fyne.Container // the form's column
}

func newLockScreen(d *Desktop) *lockScreen {
	l := &lockScreen{d: d}

	icon := canvas.NewImageFromResource(assets.Icon)
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSquareSize(72))
	name := widget.NewLabelWithStyle("Examlane", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	name.SizeName = theme.SizeNameHeadingText
	l.title = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	l.title.SizeName = theme.SizeNameSubHeadingText

	// Resume with a PIN.
	l.who = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	l.who.Wrapping = fyne.TextWrapWord
	l.pin = widget.NewPasswordEntry()
	l.pin.PlaceHolder = "PIN"
	l.pin.OnSubmitted = func(string) { l.resume() }
	unlock := widget.NewButtonWithIcon("Unlock", theme.LoginIcon(), l.resume)
	unlock.Importance = widget.HighImportance
	other := widget.NewButton("Not you? Sign in as someone else", func() { l.showSignIn(); l.focus() })
	other.Importance = widget.LowImportance
	l.resumeBox = container.NewVBox(l.who, widget.NewLabel("PIN"), l.pin, unlock, other)

	// Start-of-shift sign-in.
	l.user = widget.NewEntry()
	l.user.PlaceHolder = "User name"
	l.user.OnSubmitted = func(string) { l.d.win.Canvas().Focus(l.password) }
	l.password = widget.NewPasswordEntry()
	l.password.PlaceHolder = "Password"
	l.password.OnSubmitted = func(string) { l.d.win.Canvas().Focus(l.code) }
	l.code = widget.NewEntry()
	l.code.PlaceHolder = "6-digit code"
	l.code.OnSubmitted = func(string) { l.signIn() }
	signIn := widget.NewButtonWithIcon("Sign in", theme.LoginIcon(), l.signIn)
	signIn.Importance = widget.HighImportance
	l.endsNote = widget.NewLabel("")
	l.endsNote.Wrapping = fyne.TextWrapWord
	l.endsNote.Importance = widget.WarningImportance
	l.backToPIN = widget.NewButton("Back to PIN", func() { l.showResume(l.d.session); l.focus() })
	l.backToPIN.Importance = widget.LowImportance
	l.signInBox = container.NewVBox(
		widget.NewLabel("User name"), l.user,
		widget.NewLabel("Password"), l.password,
		widget.NewLabel("Code from your authenticator app"), l.code,
		signIn, l.endsNote, l.backToPIN,
	)

	l.errLabel = widget.NewLabel("")
	l.errLabel.Wrapping = fyne.TextWrapWord
	l.errLabel.Importance = widget.DangerImportance
	l.errLabel.TextStyle = fyne.TextStyle{Bold: true}

	footer := note("Patient data is hidden while the lane is locked. Instruments keep recording; " +
		"their readings wait for review.")
	footer.Alignment = fyne.TextAlignCenter

	col := container.NewVBox(
		container.NewCenter(icon), name, l.title,
		l.resumeBox, l.signInBox, l.errLabel,
		widget.NewSeparator(), footer,
	)
	l.col = col
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameBackground))
	l.content = container.NewStack(bg, container.New(&readableColumn{maxWidth: lockWidth}, col))
	return l
}

// relayout lays the form out again after a part of it was shown or hidden:
// the window may keep the same size, which would not lay it out.
func (l *lockScreen) relayout() {
	l.col.Refresh()
	if c, ok := l.content.(*fyne.Container); ok {
		c.Refresh()
	}
}

// showResume asks the locked session's user for their PIN.
func (l *lockScreen) showResume(s lane.Session) {
	if s.User == "" {
		l.showSignIn()
		return
	}
	l.clear()
	l.title.SetText("Locked")
	name := s.Display
	if name == "" {
		name = string(s.User)
	}
	l.who.SetText("Signed in: " + name + ". Type your PIN to continue.")
	l.signInBox.Hide()
	l.resumeBox.Show()
	l.relayout()
}

// showSignIn shows the start-of-shift sign-in.
func (l *lockScreen) showSignIn() {
	l.clear()
	l.resumeBox.Hide()
	l.signInBox.Show()
	if s := l.d.session; s.User != "" && l.d.locked {
		l.title.SetText("Sign in")
		name := s.Display
		if name == "" {
			name = string(s.User)
		}
		l.endsNote.SetText("Signing in as someone else ends " + name + "'s locked session.")
		l.endsNote.Show()
		l.backToPIN.Show()
	} else {
		l.title.SetText("Start of shift: sign in")
		l.endsNote.Hide()
		l.backToPIN.Hide()
	}
	l.relayout()
}

// showSetPIN opens a dialog where the signed-in user sets the PIN that
// resumes their session after a lock.
func (l *lockScreen) showSetPIN() {
	if l.d.locked {
		return
	}
	pin1, pin2 := widget.NewPasswordEntry(), widget.NewPasswordEntry()
	items := []*widget.FormItem{
		widget.NewFormItem("New PIN", pin1),
		widget.NewFormItem("Again", pin2),
	}
	items[0].HintText = "At least 8 digits, not an obvious sequence"
	user := l.d.session.User
	dlg := dialog.NewForm("Set PIN", "Set PIN", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		if pin1.Text != pin2.Text {
			l.d.showError(plainError("The two PINs differ. Try again."))
			return
		}
		pin := pin1.Text
		l.d.async(func() func() {
			err := l.d.cfg.Auth.SetPIN(l.d.ctx, user, pin)
			return func() {
				if err != nil {
					l.d.showError(err)
					return
				}
				l.d.notify("PIN set: use it to unlock this shift")
			}
		})
	}, l.d.win)
	dlg.Resize(fyne.NewSize(420, 0))
	dlg.Show()
}

// clear empties the fields and the error.
func (l *lockScreen) clear() {
	for _, e := range []*widget.Entry{l.pin, l.user, l.password, l.code} {
		e.SetText("")
	}
	l.setError("")
}

// setError shows a message under the form; "" hides it.
func (l *lockScreen) setError(msg string) {
	l.errLabel.SetText(msg)
	if msg == "" {
		l.errLabel.Hide()
	} else {
		l.errLabel.Show()
	}
	if l.col != nil {
		l.relayout()
	}
}

// focus puts the cursor in the first field of the form on display.
func (l *lockScreen) focus() {
	if l.resumeBox.Visible() {
		l.d.win.Canvas().Focus(l.pin)
	} else {
		l.d.win.Canvas().Focus(l.user)
	}
}

// resume checks the PIN and unlocks the session.
func (l *lockScreen) resume() {
	if l.busy {
		return
	}
	pin := l.pin.Text
	user := l.d.session.User
	if pin == "" {
		l.setError("Type your PIN.")
		return
	}
	l.busy = true
	l.setError("")
	l.d.serial(func() error {
		if err := l.d.cfg.Auth.Resume(l.d.ctx, user, pin); err != nil {
			return err
		}
		return l.d.svc.Unlock(l.d.ctx, user)
	}, func(err error) {
		l.busy = false
		l.pin.SetText("")
		if err != nil {
			l.setError(errorText(err))
			if _, ok := l.d.svc.Current(); !ok {
				l.d.session = lane.Session{} // the shift ended: a full sign-in is needed
				l.showSignIn()
				l.setError(errorText(err))
			}
			l.focus()
			return
		}
		s, _ := l.d.svc.Current()
		l.d.unlocked(s)
	})
}

// signIn checks the credentials and begins the session.
func (l *lockScreen) signIn() {
	if l.busy {
		return
	}
	user, password, code := strings.TrimSpace(l.user.Text), l.password.Text, strings.TrimSpace(l.code.Text)
	switch {
	case user == "":
		l.setError("Type your user name.")
		return
	case password == "":
		l.setError("Type your password.")
		return
	case code == "":
		l.setError("Type the 6-digit code from your authenticator app.")
		return
	}
	l.busy = true
	l.setError("")
	var sess lane.Session
	l.d.serial(func() error {
		s, err := l.d.cfg.Auth.SignIn(l.d.ctx, user, password, code)
		if err != nil {
			return err
		}
		sess = s
		return l.d.svc.Begin(l.d.ctx, s)
	}, func(err error) {
		l.busy = false
		l.password.SetText("")
		l.code.SetText("")
		if err != nil {
			l.setError(errorText(err))
			return
		}
		l.d.unlocked(sess)
	})
}
