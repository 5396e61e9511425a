package gateway

import (
	"errors"
	"testing"
)

// IngestSubjects takes sv.> and prefixes ending in .>, each once; anything
// else is a configuration error naming it.
func TestIngestSubjectsMustBePrefixesEndingInAWildcard(t *testing.T) {
	cases := []struct {
		subjects []string
		ok       bool
	}{
		{[]string{"sv.>"}, true},
		{[]string{"svin.0.>", "svin.1.>"}, true},
		{[]string{"sv.*.data"}, false},
		{[]string{"svin.*.>"}, false},
		{[]string{">"}, false},
		{[]string{"svin.0"}, false},
		{[]string{"svin..>"}, false},
		{[]string{"svin.0.>", "svin.0.>"}, false},
	}
	for _, tc := range cases {
		err := checkIngestSubjects(tc.subjects)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrBadConfig) {
			t.Errorf("checkIngestSubjects(%q) = %v, want ok=%v", tc.subjects, err, tc.ok)
		}
	}
}
