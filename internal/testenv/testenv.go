//go:build linux

// Package testenv holds what tests need from the machine beyond a Go toolchain: root, and
// a small file system to fill. Without them a test skips with the reason, or fails when
// OV2_REQUIRE_NETNS=1 (CI sets it), as the network-namespace tests do, so that CI cannot
// report a skipped check as passed.
package testenv

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// RequireEnv is the variable that turns a skip for lack of root (or of mount) into a
// failure; the same one as package netns uses.
const RequireEnv = "OV2_REQUIRE_NETNS"

// NeedRoot skips the test when not root, or fails it when RequireEnv=1.
func NeedRoot(tb testing.TB, why string) {
	tb.Helper()
	if uid := os.Geteuid(); uid != 0 {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("%s needs root, and %s=1 (not root: uid %d)", why, RequireEnv, uid)
		}
		tb.Skipf("%s needs root (uid %d; set %s=1 to make this a failure)", why, uid, RequireEnv)
	}
}

// MountTmpfs mounts a tmpfs with the given mount flags and options (e.g. "size=2m") on a
// new temporary directory, unmounted when the test ends.
func MountTmpfs(tb testing.TB, flags uintptr, opts string) string {
	tb.Helper()
	NeedRoot(tb, "mounting a tmpfs")
	dir := tb.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", flags, opts); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("mount -t tmpfs -o %s %s: %v", opts, dir, err)
		}
		tb.Skipf("mount -t tmpfs -o %s %s: %v (set %s=1 to make this a failure)", opts, dir, err, RequireEnv)
	}
	tb.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			tb.Errorf("umount %s: %v", dir, err)
		}
	})
	return dir
}

// NullDevice makes a null character device (1:3, what /dev/null is) in a new temporary
// directory and returns its path: a test of writing to a device uses it rather than the
// system's /dev/null, which a regression could replace.
func NullDevice(tb testing.TB) string {
	tb.Helper()
	NeedRoot(tb, "mknod")
	null := tb.TempDir() + "/null"
	if err := unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("mknod %s c 1 3: %v", null, err)
		}
		tb.Skipf("mknod %s c 1 3: %v (set %s=1 to make this a failure)", null, err, RequireEnv)
	}
	return null
}
