// Command baseline is the yardstick for the start-up benchmark: the smallest
// Go HTTP server that answers /readyz, so the benchmark can show how much of
// ecabinet's start-to-ready time is process start-up every Go program pays.
package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"ready":true}`))
	})
	if err := http.ListenAndServe(os.Getenv("HTTP_ADDR"), nil); err != nil {
		os.Exit(1)
	}
}
