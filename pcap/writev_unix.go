//go:build unix

package pcap

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const canWritev = true

// writev writes the pieces to w.f, all of them (looping over partial writes), through
// the file's poller (a FIFO is non-blocking: a full pipe is waited for, as os.File.Write
// waits).
func (w *Writer) writev(pieces [][]byte) error {
	if w.rc == nil {
		rc, err := w.f.SyscallConn()
		if err != nil {
			return err
		}
		w.rc = rc
		w.writevFn = w.writevOnce // made once: a method value allocates
	}
	if cap(w.iovecs) < len(pieces) {
		w.iovecs = make([]iovec, len(pieces))
	}
	iov := w.iovecs[:0]
	for _, p := range pieces {
		if len(p) == 0 {
			continue
		}
		v := unix.Iovec{Base: &p[0]}
		v.SetLen(len(p))
		iov = append(iov, v)
	}
	w.pending, w.werr = iov, nil
	for len(w.pending) > 0 && w.werr == nil {
		if err := w.rc.Write(w.writevFn); err != nil && w.werr == nil {
			w.werr = err
		}
	}
	for i := range iov { // do not keep the caller's packets reachable
		iov[i].Base = nil
	}
	w.pending = nil
	return w.werr
}

// writevOnce is one writev of w.pending, for RawConn.Write: false to wait until the file
// takes more (a full FIFO).
func (w *Writer) writevOnce(fd uintptr) bool {
	iov := w.pending
	n, _, errno := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	switch {
	case errno == unix.EAGAIN:
		return false
	case errno == unix.EINTR:
		return true // writev calls again
	case errno != 0:
		w.werr = errno
		return true
	}
	w.pending = advance(iov, int(n))
	if n == 0 && len(w.pending) > 0 {
		w.werr = syscall.EIO // no progress and no error: do not spin
	}
	return true
}

// advance drops the first n bytes of iov.
func advance(iov []unix.Iovec, n int) []unix.Iovec {
	for n > 0 && len(iov) > 0 {
		l := int(iov[0].Len)
		if n < l {
			iov[0].Base = (*byte)(unsafe.Add(unsafe.Pointer(iov[0].Base), n))
			iov[0].SetLen(l - n)
			return iov
		}
		n -= l
		iov[0].Base = nil
		iov = iov[1:]
	}
	return iov
}

type iovec = unix.Iovec
