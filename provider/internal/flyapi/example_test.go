package flyapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
)

func Example() {
	// A stand-in for https://api.machines.dev answering one write.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprint(w, `{"name":"DATABASE_URL","digest":"5d4b3c2a1f0e9d8c",`+
			`"created_at":"2025-06-01T12:00:00Z","updated_at":"2025-06-01T12:00:00Z","version":7}`)
	}))
	defer api.Close()

	client := flyapi.New(api.URL, "fm2_example-token")
	res, err := client.SetSecret(context.Background(), "my-app", "DATABASE_URL", "postgres://...")
	if flyapi.IsUnauthorized(err) {
		fmt.Println("check FLY_API_TOKEN:", err)
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Name, res.Digest, res.Version)
	// Output: DATABASE_URL 5d4b3c2a1f0e9d8c 7
}
