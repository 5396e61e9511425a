package gateway

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestAcknowledgementSaysWhatWasApplied pins issue 10 finding 14 (second
// half): a publisher's answer comes once its update is applied and says
// what was: a plain JetStream acknowledgement when all of it was, the
// acknowledgement with "refused" (ops left out) and a warning naming the
// limit when table rows were left out, and an error naming why when the
// update was refused whole (before, all were acknowledged as if applied).
func TestAcknowledgementSaysWhatWasApplied(t *testing.T) {
	e := startEnv(t, Config{MaxTableRows: 2})
	e.publishAndWait(t, "sv.t.config", `{"type": "table"}`)
	type answer struct {
		Stream    string `json:"stream"`
		Seq       uint64 `json:"seq"`
		Refused   int    `json:"refused"`
		Warning   string `json:"warning"`
		Duplicate bool   `json:"duplicate"`
		Error     *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	request := func(t *testing.T, payload string) answer {
		t.Helper()
		m, err := e.nc.Request("sv.t.data", []byte(payload), waitTimeout)
		if err != nil {
			t.Fatalf("request %s: %v", payload, err)
		}
		var a answer
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Fatalf("answer %q: %v", m.Data, err)
		}
		t.Logf("%s -> %s", payload, m.Data)
		return a
	}
	for _, tc := range []struct {
		name, payload string
		refused       int
		warning       string // a substring; "" for none
		errCode       int
		errText       string
	}{
		{name: "every row applied", payload: `{"ops": [{"key": "a", "row": {"v": 1}}, {"key": "b", "row": {"v": 1}}]}`},
		{name: "a new key past the row limit left out, the update of a live row applied",
			payload: `{"ops": [{"key": "a", "row": {"v": 2}}, {"key": "c", "row": {"v": 1}}]}`,
			refused: 1, warning: "table row limit reached"},
		{name: "only a new key past the row limit: acknowledged as refused",
			payload: `{"key": "d", "row": {"v": 1}}`, refused: 1, warning: "table row limit reached"},
		{name: "data of another widget type: nothing applied",
			payload: `{"value": 3}`, errCode: 400, errText: "data does not fit the widget's type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := request(t, tc.payload)
			if tc.errCode != 0 {
				if a.Error == nil || a.Error.Code != tc.errCode || !strings.Contains(a.Error.Description, tc.errText) {
					t.Fatalf("got %+v (error %+v), want error %d naming %q", a, a.Error, tc.errCode, tc.errText)
				}
				return
			}
			if a.Error != nil || a.Stream != "SV" || a.Seq == 0 {
				t.Fatalf("got %+v (error %+v), want an acknowledgement", a, a.Error)
			}
			if a.Refused != tc.refused || (tc.warning == "") != (a.Warning == "") || !strings.Contains(a.Warning, tc.warning) {
				t.Fatalf("acknowledgement %+v, want refused %d and a warning naming %q", a, tc.refused, tc.warning)
			}
		})
	}
	assertJSON(t, "the table", e.widgetState(t, "t"), `{"rows": {"a": {"v": 2}, "b": {"v": 1}}, "refused": 2}`)
}

// publishRefused publishes an update that is stored but refused when
// applied, and checks its publisher is told: an error 400 naming why.
func (e *testEnv) publishRefused(t testing.TB, subject, payload, why string) {
	t.Helper()
	_, err := e.publishInput(t, subject, payload)
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 400 || !strings.Contains(apiErr.Description, why) {
		t.Fatalf("publish %s %s: got %v, want a 400 naming %q", subject, truncate(payload, 80), err, why)
	}
}
