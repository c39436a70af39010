package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/examlane/examlane/lane"
)

// demoAccountsName is the file in the demo directory listing the demo
// staff accounts (mode 0600): synthetic accounts only.
const demoAccountsName = "demo-accounts.json"

// demoAccount is one synthetic staff account of demo mode.
type demoAccount struct {
	UserID     string      `json:"user_id"`
	Login      string      `json:"login"`
	Display    string      `json:"display"`
	Roles      []lane.Role `json:"roles"`
	Password   string      `json:"password"`
	TOTPSecret string      `json:"totp_secret"`
}

// demoAccounts is the content of demoAccountsName.
type demoAccounts struct {
	Note     string        `json:"note"`
	Accounts []demoAccount `json:"accounts"`
}

func readDemoAccounts(path string) (demoAccounts, error) {
	var a demoAccounts
	b, err := os.ReadFile(path)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func (a demoAccounts) find(login string) (demoAccount, bool) {
	for _, x := range a.Accounts {
		if strings.EqualFold(x.Login, strings.TrimSpace(login)) {
			return x, true
		}
	}
	return demoAccount{}, false
}
