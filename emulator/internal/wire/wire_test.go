package wire

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Value string `json:"value"`
	}
	cases := []struct {
		in   string
		want error
	}{
		{`{"value":"x"}`, nil},
		{" {\"value\":\"x\"} \n", nil},
		{``, ErrInvalidJSON},
		{`{"value":"secret-text"`, ErrInvalidJSON},
		{`{"value":42}`, ErrInvalidJSON},
		{`{"value":"a"} {"value":"b"}`, ErrInvalidJSON},
		{`{"value":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, ErrInvalidJSON},
	}
	for _, c := range cases {
		var out body
		err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(c.in)), &out)
		if err != c.want {
			t.Errorf("DecodeJSON(%.40q) = %v, want %v", c.in, err, c.want)
		}
	}
}

func TestDecodeJSONDropsBodyText(t *testing.T) {
	err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(`{"value": secret-text}`)), &struct{}{})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %v", err)
	}
}

func TestTimes(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	now := Now(func() time.Time { return at })
	if now.Location() != time.UTC || now.Nanosecond() != 123456000 || !now.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("Now = %v", now)
	}
	if got := FormatTime(at); got != "2025-01-02T02:04:05.123456Z" {
		t.Errorf("FormatTime = %q", got)
	}
	if got := FormatTime(now); got != "2025-01-02T02:04:05.123456Z" {
		t.Errorf("FormatTime(Now) = %q", got)
	}
}

func TestBearerIn(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"Bearer one", true}, {"bearer  two ", true}, {"Bearer three", false}, {"one", false},
		{"Basic one", false}, {"", false}, {"Bearer ", false},
	} {
		if got := BearerIn(c.header, "one", "two", ""); got != c.want {
			t.Errorf("BearerIn(%q) = %v", c.header, got)
		}
	}
}
