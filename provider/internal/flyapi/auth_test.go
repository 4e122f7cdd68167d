package flyapi

import "testing"

func TestAuthorizationHeader(t *testing.T) {
	tests := []struct {
		name, token, want string
	}{
		{"plain token uses Bearer", "abc123", "Bearer abc123"},
		{"fm2 macaroon uses FlyV1", "fm2_lJPE", "FlyV1 fm2_lJPE"},
		{"macaroon given with FlyV1 scheme", "FlyV1 fm1r_x,fm2_y", "FlyV1 fm1r_x,fm2_y"},
		{"fm1a macaroon", "fm1a_x", "FlyV1 fm1a_x"},
		{"token given with Bearer scheme", "Bearer abc123", "Bearer abc123"},
		{"macaroon given with Bearer scheme", "Bearer fm2_y", "FlyV1 fm2_y"},
		{"both schemes pasted", "Bearer FlyV1 fm2_y", "FlyV1 fm2_y"},
		{"comma separated non-macaroons", "abc,def", "Bearer abc,def"},
		{"any macaroon part switches to FlyV1, user tokens dropped", "abc,fm2_y", "FlyV1 fm2_y"},
		{"macaroons keep their order", "fm2_b,abc,fm1r_a", "FlyV1 fm2_b,fm1r_a"},
		{"spaces around parts are dropped", " fm1r_x , fm2_y ", "FlyV1 fm1r_x,fm2_y"},
		{"empty token sends no header", "", ""},
		{"scheme alone sends no header", "Bearer ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AuthorizationHeader(tt.token); got != tt.want {
				t.Errorf("AuthorizationHeader(%q) = %q, want %q", tt.token, got, tt.want)
			}
		})
	}
}
