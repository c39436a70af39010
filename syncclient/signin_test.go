package syncclient

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/examlane/examlane/lane"
)

const goodAuthAnswer = `{"user_id":"u-1","login":"sam.lee","display":"Sam Lee","roles":["optometrist"],"locations":["loc-1"],
"token":"v1.x.y","token_expires":"2026-03-01T09:15:00Z","totp_step":59000000,"password_temporary":false,
"offline":{"verifier":{"algorithm":"argon2id","time":3,"memory_kib":65536,"threads":2,"key_len":32,"salt_len":16,"salt":"AAECAwQFBgcICQoLDA0ODw=="},
"totp_secret":"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ","totp":{"algorithm":"SHA1","digits":6,"period":30}}}`

func TestSignInClient(t *testing.T) {
	var got map[string]string
	var status int
	var answer, retry string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", 400)
			return
		}
		switch r.URL.Path {
		case "/auth/login":
			json.NewDecoder(r.Body).Decode(&got)
		case "/auth/refresh":
			if r.Header.Get("Authorization") != "Bearer old" {
				w.WriteHeader(401)
				w.Write([]byte(`{"error":"token","message":"user token not accepted"}`))
				return
			}
		}
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		w.WriteHeader(status)
		w.Write([]byte(answer))
	}))
	defer ts.Close()
	c, err := NewSignInClient(SignInConfig{ServerURL: ts.URL, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	status, answer = 200, goodAuthAnswer
	r, err := c.SignIn(ctx, "sam.lee", "pw", "123456")
	if err != nil || r.UserID != "u-1" || r.Roles[0] != lane.RoleOptometrist || len(r.Offline.Verifier.Salt) != 16 || r.TOTPStep != 59000000 {
		t.Fatalf("SignIn = %+v, %v", r, err)
	}
	if got["login"] != "sam.lee" || got["password"] != "pw" || got["totp"] != "123456" {
		t.Fatalf("request %v", got)
	}
	for _, tc := range []struct {
		status      int
		answer, hdr string
		want        error
		wantRetry   time.Duration
	}{
		{401, `{"error":"credentials","message":"not accepted"}`, "", ErrAuthRejected, 0},
		{423, `{"error":"throttled","message":"wait","retry_after":8}`, "8", ErrAuthThrottled, 8 * time.Second},
		{423, `{"error":"locked","message":"locked"}`, "", ErrAuthLocked, 0},
		{401, `{"error":"lane","message":"no valid lane certificate"}`, "", lane.ErrForbidden, 0},
		{503, `{"error":"unavailable"}`, "1", lane.ErrUnavailable, time.Second},
		{400, `{"error":"invalid"}`, "", lane.ErrInvalid, 0},
		{502, `<html>proxy</html>`, "", lane.ErrUnavailable, 0},
	} {
		status, answer, retry = tc.status, tc.answer, tc.hdr
		_, err := c.SignIn(ctx, "x", "y", "z")
		var ae *AuthError
		if !errors.Is(err, tc.want) || !errors.As(err, &ae) || ae.RetryAfter != tc.wantRetry {
			t.Errorf("%d %s: %v (retry %v), want %v", tc.status, tc.answer, err, ae, tc.want)
		}
	}
	status, answer, retry = 200, `{"token":"new","token_expires":"2026-03-01T09:30:00Z"}`, ""
	tok, err := c.Refresh(ctx, "old")
	if err != nil || tok.Token != "new" {
		t.Fatalf("Refresh = %+v, %v", tok, err)
	}
	if _, err := c.Refresh(ctx, "stale"); !errors.Is(err, lane.ErrForbidden) {
		t.Fatalf("stale token: %v", err)
	}

	// A server that is down is lane.ErrUnavailable, quickly.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	down, _ := NewSignInClient(SignInConfig{ServerURL: "http://" + addr, Insecure: true, Timeout: 2 * time.Second})
	if _, err := down.SignIn(ctx, "x", "y", "z"); !errors.Is(err, lane.ErrUnavailable) {
		t.Fatalf("server down: %v", err)
	}
	if _, err := NewSignInClient(SignInConfig{ServerURL: "http://" + addr}); !errors.Is(err, lane.ErrInvalid) {
		t.Fatalf("plain HTTP without Insecure: %v", err)
	}
}

func TestDecodeAuthResultRejects(t *testing.T) {
	var good map[string]any
	json.Unmarshal([]byte(goodAuthAnswer), &good)
	for name, mutate := range map[string]func(m map[string]any){
		"no user":      func(m map[string]any) { delete(m, "user_id") },
		"no token":     func(m map[string]any) { m["token"] = "" },
		"no roles":     func(m map[string]any) { m["roles"] = []any{} },
		"unknown role": func(m map[string]any) { m["roles"] = []any{"doctor"} },
		"huge memory": func(m map[string]any) {
			m["offline"].(map[string]any)["verifier"].(map[string]any)["memory_kib"] = 1 << 30
		},
		"short salt":    func(m map[string]any) { m["offline"].(map[string]any)["verifier"].(map[string]any)["salt"] = "AAE=" },
		"bad secret":    func(m map[string]any) { m["offline"].(map[string]any)["totp_secret"] = "not-base32!" },
		"8 digit codes": func(m map[string]any) { m["offline"].(map[string]any)["totp"].(map[string]any)["digits"] = 8 },
		"other verifier": func(m map[string]any) {
			m["offline"].(map[string]any)["verifier"].(map[string]any)["algorithm"] = "md5"
		},
	} {
		b, _ := json.Marshal(good)
		var m map[string]any
		json.Unmarshal(b, &m)
		mutate(m)
		b, _ = json.Marshal(m)
		if _, err := decodeAuthResult(b); !errors.Is(err, lane.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := decodeAuthResult([]byte(goodAuthAnswer)); err != nil {
		t.Fatal(err)
	}
}

func FuzzAuthResult(f *testing.F) {
	f.Add([]byte(goodAuthAnswer))
	f.Add([]byte(`{"user_id":"u","roles":["admin"]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeAuthResult(b)
		if err != nil {
			return
		}
		if r.UserID == "" || r.Token == "" || len(r.Roles) == 0 || len(r.Offline.Verifier.Salt) < 8 {
			t.Fatalf("accepted an incomplete answer: %+v", r)
		}
	})
}
