package vgcm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestGeneratedUpToDate checks that vgcm_amd64.s is what the generator prints, so that an
// edit to gen/ without `go generate` (or a hand edit of the .s file) fails.
func TestGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator with the go tool")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("no go tool")
		}
	}
	want, err := exec.Command(goTool, "run", "./gen").Output()
	if err != nil {
		t.Fatalf("go run ./gen: %v", err)
	}
	got, err := os.ReadFile("vgcm_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("vgcm_amd64.s is stale: run go generate in esp/internal/vgcm")
	}
}
